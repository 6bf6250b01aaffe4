/**
 * Programs around the runtime library, not part of it: the {@code bin/gemma} command line
 * ({@link dev.gemmaflink.runtime.tools.cli}), benchmarks ({@link dev.gemmaflink.runtime.tools.bench}) and the writer
 * of tiny random checkpoints that tests, benchmarks and the quick start use
 * ({@link dev.gemmaflink.runtime.tools.checkpoint}). The library's packages never import from here (a test checks
 * it), so the engine can be read and embedded without them.
 */
package dev.gemmaflink.runtime.tools;
