package dev.gemmaflink.runtime;

/**
 * Every failure to load a model: configuration, checkpoint files, tensors, tokenizer.
 *
 * <p>The message always names what is wrong and where (file, tensor, key), so a user can fix the
 * checkpoint without a debugger. Loading code never lets another exception type escape for bad
 * input: I/O errors, JSON errors and arithmetic overflows on corrupt headers are all wrapped here.
 */
public class ModelLoadException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message what is wrong, naming the file and tensor or key */
    public ModelLoadException(String message) {
        super(message);
    }

    /**
     * @param message what is wrong, naming the file and tensor or key
     * @param cause the underlying error (I/O, JSON parsing)
     */
    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
