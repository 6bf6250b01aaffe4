package dev.gemmaflink.jobs;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.kafka.KafkaClientProperties;

/**
 * Checks at start that the output topics accept every record the job's producers may send: each topic's
 * {@code max.message.bytes} at least the producers' {@code max.request.size}. A record the broker refuses fails the
 * sink asynchronously, and a restart would meet it again; refusing to start says which setting to change instead.
 */
public final class TopicLimits {
    private static final Logger LOG = LoggerFactory.getLogger(TopicLimits.class);

    private TopicLimits() {
    }

    /**
     * Reads the result and dead-letter topics' {@code max.message.bytes} from the brokers.
     *
     * @throws IllegalArgumentException naming the topic and both settings when a topic accepts less than the
     *     producers may send
     */
    public static void check(Configuration conf) {
        int maxRequestSize = KafkaClientProperties.maxRequestSize(conf);
        List<String> topics = List.of(conf.get(EnrichmentOptions.RESULT_TOPIC),
                conf.get(EnrichmentOptions.DEAD_LETTER_TOPIC));
        Map<ConfigResource, Config> configs;
        Properties props = KafkaClientProperties.admin(conf);
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, conf.get(EnrichmentOptions.BOOTSTRAP_SERVERS));
        try (Admin admin = Admin.create(props)) {
            List<ConfigResource> resources = new ArrayList<>();
            topics.forEach(t -> resources.add(new ConfigResource(ConfigResource.Type.TOPIC, t)));
            configs = admin.describeConfigs(resources).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // Missing topics, no describe permission, brokers not up yet: the job reports those itself.
            LOG.warn("cannot read max.message.bytes of {} ({}); not checked against max.request.size {}", topics,
                    e.getMessage(), maxRequestSize);
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        configs.forEach((resource, config) -> {
            ConfigEntry entry = config.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
            if (entry != null && entry.value() != null && Long.parseLong(entry.value()) < maxRequestSize) {
                throw new IllegalArgumentException(String.format(
                        "topic %s accepts records of at most %s bytes (max.message.bytes), less than the producers' "
                                + "max.request.size (%d, option '%smax.request.size'): a larger result or dead "
                                + "letter would be refused by the broker; raise the topic's max.message.bytes or lower "
                                + "max.request.size (and dead-letter.max-original-bytes with it)",
                        resource.name(), entry.value(), maxRequestSize, KafkaClientProperties.PRODUCER_PREFIX));
            }
        });
    }
}
