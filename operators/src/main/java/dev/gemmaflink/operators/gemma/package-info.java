/**
 * The Gemma 3 enricher ({@code enrich.enricher: gemma}): prompt templates, one shared engine per device per
 * TaskManager, GPU selection from Flink's {@code gpu} external resource, and Flink metrics over the engine.
 */
package dev.gemmaflink.operators.gemma;
