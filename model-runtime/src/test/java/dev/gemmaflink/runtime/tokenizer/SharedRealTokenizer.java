package dev.gemmaflink.runtime.tokenizer;

/**
 * Test support: one real tokenizer per test JVM. Loading the 33 MB file costs 2-4 s (more on a busy machine),
 * so the test classes that need it share this instance; it is closed when the JVM exits.
 */
public final class SharedRealTokenizer {
    private static GemmaTokenizer instance;

    private SharedRealTokenizer() {
    }

    /** @return the shared tokenizer, fetching the file on first use (fails with a how-to-fix message) */
    public static synchronized GemmaTokenizer get() {
        if (instance == null) {
            GemmaTokenizer t = RealTokenizer.load();
            Runtime.getRuntime().addShutdownHook(new Thread(t::close, "close-real-tokenizer"));
            instance = t;
        }
        return instance;
    }
}
