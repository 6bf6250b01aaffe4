package dev.gemmaflink.operators.registry;

/**
 * The schema registry gave no usable answer: unreachable, timed out, a server error after every retry, or refused
 * the job's credentials. Not a property of the record being read, so never a dead letter: the task fails and Flink
 * restarts it from the last checkpoint, where the record is read again.
 */
public final class RegistryUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public RegistryUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
