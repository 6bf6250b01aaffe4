package dev.gemmaflink.runtime.tools.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Command-line entry point of the model runtime ({@code bin/gemma}): {@code make-tiny}, {@code tokenize},
 * {@code generate}, {@code bench}, {@code dump-logits} (engine-bench lives in the engine package).
 */
@Command(name = "gemma", mixinStandardHelpOptions = true, version = "gemma-flink model runtime 0.1.0",
        description = "Gemma 3 on DJL/PyTorch: write tiny checkpoints, tokenize, generate, benchmark, dump logits.",
        subcommands = {MakeTinyCommand.class, TokenizeCommand.class, GenerateCommand.class, BenchCommand.class,
                DumpLogitsCommand.class, RecordStepsCommand.class,
                CommandLine.HelpCommand.class})
public final class GemmaCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line (tests call {@code execute} on it in-process). */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new GemmaCli());
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            // Bad input and load failures: one clear line, not a stack trace.
            cmd.getErr().println("error: " + ex.getMessage());
            return ex instanceof IllegalArgumentException || ex instanceof UnsupportedOperationException ? 2 : 1;
        });
        return cl;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
