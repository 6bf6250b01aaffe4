package dev.gemmaflink.runtime.model;

/** Receives weight-upload progress while a {@link GemmaModel} loads (e.g. to draw a progress line). */
@FunctionalInterface
public interface LoadProgress {

    /** Does nothing. */
    LoadProgress NONE = (done, total) -> { };

    /**
     * @param bytesDone  checkpoint bytes uploaded so far
     * @param bytesTotal checkpoint bytes to upload
     */
    void onProgress(long bytesDone, long bytesTotal);
}
