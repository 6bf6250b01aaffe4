/**
 * The {@code gemma} model provider of Flink SQL and the Table API: {@code CREATE MODEL ... WITH ('provider' =
 * 'gemma')} and {@code ML_PREDICT}, in-process on the TaskManagers and batched across rows, over the same shared
 * engine as the DataStream job ({@link dev.gemmaflink.operators.gemma.SharedEngines}).
 */
package dev.gemmaflink.operators.sql;
