package dev.gemmaflink.operators.sql;

import java.io.Serializable;
import java.time.Duration;

import dev.gemmaflink.operators.gemma.DevicePolicy;
import dev.gemmaflink.operators.gemma.PromptTemplates;
import dev.gemmaflink.operators.sql.GemmaModelOptions.ErrorHandling;
import dev.gemmaflink.operators.sql.GemmaModelOptions.Task;
import dev.gemmaflink.runtime.engine.EngineConfig;

/**
 * A gemma model as {@link GemmaModelProviderFactory} checked it: everything its predict functions need on the
 * TaskManagers, serializable with them.
 *
 * @param name the model's catalog identifier (logs, messages)
 * @param modelDir the checkpoint folder as the TaskManagers see it
 * @param devicePolicy what a subtask without a GPU does
 * @param engineConfig the shared engine's configuration (device chosen per subtask)
 * @param task what each row asks
 * @param templates the DataStream job's prompt templates, with the model's instruction in its task's place
 * @param generateInstruction the prompt of {@code task = generate}, else null
 * @param targetLanguage the default target language of {@code translate}, or null
 * @param maxNewTokens output token limit
 * @param temperature sampling temperature (0 = greedy)
 * @param topK sampling top-k
 * @param topP sampling top-p
 * @param errors what a row the model cannot serve becomes
 * @param requestTimeout a row's time in the engine; null: derived from ML_PREDICT's timeout
 * @param schema the roles of the INPUT and OUTPUT columns
 */
record GemmaModelSpec(String name, String modelDir, DevicePolicy devicePolicy, EngineConfig engineConfig, Task task,
        PromptTemplates templates, String generateInstruction, String targetLanguage, int maxNewTokens,
        double temperature, int topK, double topP, ErrorHandling errors, Duration requestTimeout, ModelSchema schema)
        implements Serializable {
}
