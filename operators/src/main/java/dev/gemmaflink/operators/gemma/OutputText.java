package dev.gemmaflink.operators.gemma;

import dev.gemmaflink.runtime.tokenizer.ChatFormat;

/** Post-processing of generated text before it becomes a result's {@code outputText}. */
public final class OutputText {

    private static final String[] MARKERS = {ChatFormat.END_OF_TURN, ChatFormat.START_OF_TURN, "<eos>", "<bos>"};

    private OutputText() {
    }

    /**
     * Cuts the text at the first turn marker (a model that opens a new turn has finished its answer), removes any
     * other special-token spelling, and trims surrounding whitespace. The engine stops on {@code <end_of_turn>},
     * so markers appear only when a checkpoint's stop ids differ; the cut keeps results clean either way.
     */
    public static String clean(String generated) {
        if (generated == null) {
            return "";
        }
        String text = generated;
        int cut = firstMarker(text);
        if (cut == 0) {
            // A turn that starts with a marker: drop "<start_of_turn>model\n" and keep what follows.
            text = stripLeadingTurn(text);
            cut = firstMarker(text);
        }
        if (cut > 0) {
            text = text.substring(0, cut);
        }
        for (String marker : MARKERS) {
            text = text.replace(marker, "");
        }
        return text.strip();
    }

    private static int firstMarker(String text) {
        int first = -1;
        for (String marker : MARKERS) {
            int i = text.indexOf(marker);
            if (i >= 0 && (first < 0 || i < first)) {
                first = i;
            }
        }
        return first;
    }

    private static String stripLeadingTurn(String text) {
        String t = text;
        while (true) {
            String before = t;
            for (String marker : MARKERS) {
                if (t.startsWith(marker)) {
                    t = t.substring(marker.length());
                }
            }
            if (t.startsWith("model\n")) {
                t = t.substring("model\n".length());
            }
            t = t.stripLeading();
            if (t.equals(before)) {
                return t;
            }
        }
    }
}
