-- bin/sql: a Kafka table of requests, three gemma models (a summarizer, a translator, a captioner) and one
-- exactly-once Kafka table of results, filled from ML_PREDICT. SqlQuickstart fills in the ${...} placeholders:
-- ${bootstrap} (the embedded broker), ${requests_topic}, ${results_topic}, ${model_dir}, ${model_options} (engine
-- settings for this machine, e.g. 'precision' = 'FLOAT32'). Run your own with bin/sql --script FILE.

CREATE TEMPORARY TABLE requests (
  id STRING, task STRING, text STRING, lang STRING, image BYTES
) WITH (
  'connector' = 'kafka', 'topic' = '${requests_topic}', 'properties.bootstrap.servers' = '${bootstrap}',
  'properties.group.id' = 'sql-quickstart', 'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'latest-offset', 'format' = 'json'
);

CREATE TEMPORARY TABLE results (
  id STRING, task STRING, output STRING, finish_reason STRING, prompt_tokens INT, output_tokens INT,
  error_code STRING, error_message STRING
) WITH (
  'connector' = 'kafka', 'topic' = '${results_topic}', 'properties.bootstrap.servers' = '${bootstrap}',
  'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = 'sql-quickstart',
  'properties.transaction.timeout.ms' = '600000', 'format' = 'json'
);

CREATE TEMPORARY MODEL summarizer
  INPUT (text STRING)
  OUTPUT (summary STRING, finish_reason STRING, prompt_tokens INT, output_tokens INT, error_code STRING,
          error_message STRING)
  WITH ('provider' = 'gemma', 'task' = 'summarize', 'model-dir' = '${model_dir}', ${model_options});

CREATE TEMPORARY MODEL translator
  INPUT (text STRING, target_language STRING)
  OUTPUT (translated STRING, finish_reason STRING, prompt_tokens INT, output_tokens INT, error_code STRING,
          error_message STRING)
  WITH ('provider' = 'gemma', 'task' = 'translate', 'model-dir' = '${model_dir}', ${model_options});

CREATE TEMPORARY MODEL captioner
  INPUT (image BYTES, text STRING)
  OUTPUT (caption STRING, finish_reason STRING, prompt_tokens INT, output_tokens INT, error_code STRING,
          error_message STRING)
  WITH ('provider' = 'gemma', 'task' = 'caption', 'model-dir' = '${model_dir}', ${model_options});

CREATE TEMPORARY VIEW to_summarize AS SELECT id, task, text FROM requests WHERE task = 'summarize';
CREATE TEMPORARY VIEW to_translate AS SELECT id, task, text, lang FROM requests WHERE task = 'translate';
CREATE TEMPORARY VIEW to_caption AS SELECT id, task, image, text FROM requests WHERE task = 'caption';

EXECUTE STATEMENT SET BEGIN
INSERT INTO results
  SELECT id, task, summary, finish_reason, prompt_tokens, output_tokens, error_code, error_message
  FROM ML_PREDICT(TABLE to_summarize, MODEL summarizer, DESCRIPTOR(text),
                  MAP['max-concurrent-operations', '16']);
INSERT INTO results
  SELECT id, task, translated, finish_reason, prompt_tokens, output_tokens, error_code, error_message
  FROM ML_PREDICT(TABLE to_translate, MODEL translator, DESCRIPTOR(text, lang),
                  MAP['max-concurrent-operations', '16']);
INSERT INTO results
  SELECT id, task, caption, finish_reason, prompt_tokens, output_tokens, error_code, error_message
  FROM ML_PREDICT(TABLE to_caption, MODEL captioner, DESCRIPTOR(image, text),
                  MAP['max-concurrent-operations', '16']);
END;
