package iot.engine;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Publishes a batch's anomalies from the driver with Kafka's own producer (the one Spark's Kafka
 * connector brings), in one call from Python: no Spark job for a few hundred small records.
 * One producer per set of settings, kept for the life of the driver.
 */
public final class Alerts {
    private static final Map<Properties, KafkaProducer<String, String>> PRODUCERS =
            new ConcurrentHashMap<>();

    private Alerts() {}

    /**
     * Sends records to {@code topic} and waits until Kafka has them all; throws the first error.
     * {@code records} is a JSON array of [key, value] pairs of strings.
     */
    public static int send(Map<String, String> settings, String topic, String records)
            throws InterruptedException, ExecutionException, JsonProcessingException {
        JsonNode pairs = new ObjectMapper().readTree(records);
        Properties props = new Properties();
        props.putAll(settings);
        KafkaProducer<String, String> producer = PRODUCERS.computeIfAbsent(props,
                p -> new KafkaProducer<>(p, new StringSerializer(), new StringSerializer()));
        List<Future<RecordMetadata>> sent = new ArrayList<>(pairs.size());
        for (JsonNode pair : pairs) {
            sent.add(producer.send(new ProducerRecord<>(topic, pair.get(0).asText(), pair.get(1).asText())));
        }
        producer.flush();
        for (Future<RecordMetadata> f : sent) f.get();
        return sent.size();
    }

    /** Closes every producer (the job calls it when it stops). */
    public static void close() {
        PRODUCERS.values().forEach(KafkaProducer::close);
        PRODUCERS.clear();
    }
}
