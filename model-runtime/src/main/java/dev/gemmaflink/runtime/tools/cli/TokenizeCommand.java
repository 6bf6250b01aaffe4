package dev.gemmaflink.runtime.tools.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gemma tokenize}: prints the ids of a text (BOS first) as a JSON array. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print the token ids of TEXT as a JSON array, with BOS first.")
final class TokenizeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Directory with tokenizer.json.")
    Path model;

    @Option(names = "--text", required = true, description = "Text to tokenize.")
    String text;

    @Option(names = "--chat", description = "Format TEXT as one user turn first.")
    boolean chat;

    @Override
    public Integer call() throws JsonProcessingException {
        try (GemmaTokenizer tok = GemmaTokenizer.load(model)) {
            String t = chat ? dev.gemmaflink.runtime.tokenizer.ChatFormat.prompt(text) : text;
            spec.commandLine().getOut().println(new ObjectMapper().writeValueAsString(tok.encode(t, true)));
            spec.commandLine().getOut().flush();
        }
        return 0;
    }
}
