package dev.gemmaflink.operators.gemma;

import java.io.Serializable;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

import org.apache.flink.configuration.ReadableConfig;

import dev.gemmaflink.operators.enrich.EnrichmentException;
import dev.gemmaflink.runtime.tokenizer.ChatFormat;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ErrorCode;

/**
 * Turns a request into a Gemma 3 chat prompt: the task's instruction first, then the user text, as one user turn
 * ({@link ChatFormat#prompt(String, String)}), then the opened model turn. Instruction first so that requests of
 * one template share a token prefix, which the engine's prefix cache serves once per tenant.
 *
 * <p>Built-in instructions (each replaceable by an option):
 * <ul>
 *   <li>SUMMARIZE: {@value #SUMMARIZE}; request attributes {@code length} ({@code short}, {@code medium},
 *       {@code long} or a word count) and {@code style} ({@code bullets}, or free text such as {@code formal})
 *       fill {@code {length}} and {@code {style}}.</li>
 *   <li>TRANSLATE: {@value #TRANSLATE}; {@code {language}} is the English display name of the BCP-47 target
 *       ({@code pt-BR} gives "Portuguese (Brazil)").</li>
 *   <li>CAPTION: {@value #CAPTION}; {@code {instruction}} is the request text (optional).</li>
 *   <li>CLASSIFY: {@value #CLASSIFY}; {@code {labels}} are the labels ({@link StructuredOutputs#labels}), comma
 *       separated. The output is constrained to exactly one of them. A request that allows several labels
 *       ({@link StructuredOutputs#maxLabels}) takes {@value #CLASSIFY_MULTI} instead, {@code {maxLabels}} being
 *       their number, and its output is constrained to such an array.</li>
 *   <li>EXTRACT: {@value #EXTRACT}; {@code {schema}} is the JSON Schema ({@link StructuredOutputs#schema}). The
 *       output is constrained to JSON that validates against it.</li>
 * </ul>
 * Requests of one label set or one schema share the whole instruction, hence the cached prefix.
 */
public final class PromptTemplates implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Built-in SUMMARIZE instruction. */
    public static final String SUMMARIZE =
            "Summarize the following text{length}{style}. Reply with the summary only, in the language of the text.";
    /** Built-in TRANSLATE instruction. */
    public static final String TRANSLATE = "Translate the following text into {language}. Reply with the "
            + "translation only.";
    /** Built-in CAPTION instruction. */
    public static final String CAPTION = "Describe the image in one or two sentences.{instruction}";

    /** Built-in CLASSIFY instruction. */
    public static final String CLASSIFY = "Classify the following text. Reply with exactly one of these labels: "
            + "{labels}.";
    /** Built-in CLASSIFY instruction of a request that allows more than one label. */
    public static final String CLASSIFY_MULTI = "Classify the following text. Reply with a JSON array of 1 to "
            + "{maxLabels} of these labels, in this order: {labels}.";
    /** Built-in EXTRACT instruction. */
    public static final String EXTRACT = "Extract the information in the following text as JSON that validates "
            + "against this JSON Schema: {schema}\nReply with the JSON only.";

    /** Request attribute choosing the summary length. */
    public static final String LENGTH_ATTRIBUTE = "length";
    /** Request attribute choosing the summary style. */
    public static final String STYLE_ATTRIBUTE = "style";

    private final String summarize;
    private final String translate;
    private final String caption;
    private final String classify;
    private final String extract;
    private final StructuredOutputs outputs;

    /** @param summarize, translate, caption instructions; null or blank takes the built-in one */
    public PromptTemplates(String summarize, String translate, String caption) {
        this(summarize, translate, caption, null, null, StructuredOutputs.none());
    }

    /**
     * @param summarize, translate, caption, classify, extract instructions; null or blank takes the built-in one
     * @param outputs the configured labels and named schemas of CLASSIFY and EXTRACT
     */
    public PromptTemplates(String summarize, String translate, String caption, String classify, String extract,
            StructuredOutputs outputs) {
        this.summarize = orDefault(summarize, SUMMARIZE);
        this.translate = orDefault(translate, TRANSLATE);
        this.caption = orDefault(caption, CAPTION);
        this.classify = orDefault(classify, CLASSIFY);
        this.extract = orDefault(extract, EXTRACT);
        this.outputs = Objects.requireNonNull(outputs, "outputs");
    }

    /** The built-in instructions. */
    public static PromptTemplates defaults() {
        return new PromptTemplates(null, null, null);
    }

    /** Instructions from the {@code enrich.gemma.template.*} options, labels and schemas from theirs. */
    public static PromptTemplates from(ReadableConfig config) {
        return new PromptTemplates(config.get(GemmaOptions.TEMPLATE_SUMMARIZE),
                config.get(GemmaOptions.TEMPLATE_TRANSLATE), config.get(GemmaOptions.TEMPLATE_CAPTION),
                config.get(GemmaOptions.TEMPLATE_CLASSIFY), config.get(GemmaOptions.TEMPLATE_EXTRACT),
                StructuredOutputs.from(config));
    }

    /** The labels and schemas CLASSIFY and EXTRACT requests are constrained to. */
    public StructuredOutputs outputs() {
        return outputs;
    }

    private static String orDefault(String value, String builtIn) {
        return value == null || value.isBlank() ? builtIn : value;
    }

    /**
     * The instruction of a request (the part shared by requests of one template and the same parameters).
     *
     * @throws EnrichmentException INVALID_PARAMETER for an attribute it cannot use, UNKNOWN_TASK for a task
     *     without a template
     */
    public String instruction(EnrichmentRequest request) {
        String task = request.getTask();
        switch (task) {
            case "SUMMARIZE":
                Map<String, String> attributes = request.getAttributes() == null ? Map.of() : request.getAttributes();
                return summarize.replace("{length}", lengthPhrase(attributes.get(LENGTH_ATTRIBUTE)))
                        .replace("{style}", stylePhrase(attributes.get(STYLE_ATTRIBUTE)));
            case "TRANSLATE":
                return translate.replace("{language}", languageName(request.getTargetLanguage()));
            case "CAPTION":
                String text = request.getText();
                return caption.replace("{instruction}", text == null || text.isBlank() ? "" : " " + text.strip());
            case "CLASSIFY":
                int max = outputs.maxLabels(request);
                String template = max > 1 && classify.equals(CLASSIFY) ? CLASSIFY_MULTI : classify;
                return template.replace("{labels}", String.join(", ", outputs.labels(request)))
                        .replace("{maxLabels}", Integer.toString(max));
            case "EXTRACT":
                return extract.replace("{schema}", outputs.schema(request));
            default:
                throw new EnrichmentException(ErrorCode.UNKNOWN_TASK, "the gemma enricher has no prompt template "
                        + "for task " + task);
        }
    }

    /**
     * The whole prompt text (no BOS: the engine adds it): instruction, blank line, user text, in one user turn,
     * then the opened model turn. CAPTION prompts carry only the instruction (the image is the input).
     */
    public String prompt(EnrichmentRequest request) {
        String instruction = instruction(request);
        if ("CAPTION".equals(request.getTask())) {
            return ChatFormat.prompt(instruction);
        }
        return ChatFormat.prompt(instruction, Objects.requireNonNullElse(request.getText(), ""));
    }

    static String lengthPhrase(String length) {
        if (length == null || length.isBlank()) {
            return "";
        }
        String v = length.trim().toLowerCase(Locale.ROOT);
        switch (v) {
            case "short":
                return " in one sentence";
            case "medium":
                return " in about three sentences";
            case "long":
                return " in one paragraph";
            default:
                try {
                    int words = Integer.parseInt(v);
                    if (words > 0) {
                        return " in at most " + words + " words";
                    }
                } catch (NumberFormatException ignored) {
                    // reported below
                }
                throw new EnrichmentException(ErrorCode.INVALID_PARAMETER, "attribute " + LENGTH_ATTRIBUTE + "='"
                        + length + "' is not short, medium, long or a positive word count");
        }
    }

    static String stylePhrase(String style) {
        if (style == null || style.isBlank()) {
            return "";
        }
        String v = style.trim();
        if (v.equalsIgnoreCase("bullets") || v.equalsIgnoreCase("bullet points")) {
            return " as bullet points";
        }
        if (v.length() > 40 || !v.matches("[\\p{L} -]+")) {
            // Free text goes into the instruction: keep it short and plain so it cannot carry a prompt of its own.
            throw new EnrichmentException(ErrorCode.INVALID_PARAMETER, "attribute " + STYLE_ATTRIBUTE + " must be "
                    + "'bullets' or a few words of letters (at most 40 chars), got '" + style + "'");
        }
        return " in a " + v.toLowerCase(Locale.ROOT) + " style";
    }

    static String languageName(String tag) {
        if (tag == null || tag.isBlank()) {
            throw new EnrichmentException(ErrorCode.MISSING_LANGUAGE, "TRANSLATE needs a targetLanguage");
        }
        Locale locale = Locale.forLanguageTag(tag.trim());
        String name = locale.getDisplayName(Locale.ENGLISH);
        if (name.isBlank()) {
            throw new EnrichmentException(ErrorCode.INVALID_LANGUAGE, "targetLanguage '" + tag
                    + "' names no language");
        }
        return name;
    }
}
