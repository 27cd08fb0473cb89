package org.distillery.model.schema;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.distillery.model.nn.Models;

/**
 * What every published output says about itself, chained to its inputs' manifests: label points at its transfer set,
 * train at its soft targets, evaluate at the models it scored. The {@code id} is the SHA-256 of the manifest's content
 * (everything but {@code id} and {@code createdAt}), so it identifies what was produced, not when; readers recompute it
 * and refuse a manifest whose content no longer matches it (edited by hand, damaged on the way).
 *
 * @param format    manifest format, {@value #FORMAT}
 * @param id        content hash, filled by {@link #sealed}
 * @param job       the job that wrote the output (ingest, label, train, evaluate)
 * @param config    the job's validated config as JSON
 * @param inputs    inputs by role (path and the id of the manifest found there)
 * @param facts     what the job measured or decided (row counts, temperature, class count, hashes, metrics)
 * @param versions  code, Java, Spark and DL4J versions
 * @param files     the output's data files (path relative to the output directory, to size in bytes): what readers
 *                  read, instead of listing the directory; null in outputs published before it was recorded
 * @param createdAt informational timestamp, never used in logic
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Manifest(String format, String id, String job, JsonNode config, Map<String, Input> inputs,
                       Map<String, Object> facts, Map<String, String> versions, Map<String, Long> files,
                       String createdAt) {
    public static final String FORMAT = "distillery.manifest/1";
    public static final String FILE_NAME = "_manifest.json";
    public static final String SUCCESS = "_SUCCESS";
    private static final ObjectMapper LINE = new ObjectMapper();
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    /** An input: where it was read from and the id of its manifest (null for raw inputs such as IDX files). */
    public record Input(String path, String manifestId) {
    }

    public Manifest {
        inputs = inputs == null ? Map.of() : new TreeMap<>(inputs);
        facts = facts == null ? Map.of() : new TreeMap<>(facts);
        versions = versions == null ? Map.of() : new TreeMap<>(versions);
        files = files == null ? null : new TreeMap<>(files);
    }

    /** A manifest whose id is the hash of its content. */
    public static Manifest sealed(String job, Object config, Map<String, Input> inputs, Map<String, Object> facts,
                                  Map<String, String> versions, String createdAt) {
        JsonNode configJson = JSON.valueToTree(config);
        return new Manifest(FORMAT, null, job, configJson, inputs, facts, versions, null, createdAt).seal();
    }

    /** This manifest listing {@code files} as the output's data files, sealed again (a new id). */
    public Manifest withFiles(Map<String, Long> files) {
        return new Manifest(format, null, job, config, inputs, facts, versions, files, createdAt).seal();
    }

    private Manifest seal() {
        return new Manifest(format, contentHash(), job, config, inputs, facts, versions, files, createdAt);
    }

    /** The SHA-256 of everything but {@code id} and {@code createdAt}: what {@code id} must be. */
    private String contentHash() {
        Manifest content = new Manifest(format, null, job, config, inputs, facts, versions, files, null);
        return Models.sha256(content.toJson().getBytes(StandardCharsets.UTF_8));
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Parses a manifest and verifies it: a known format, and an id that is the hash of its content.
     *
     * @throws IllegalStateException naming {@code source} when the JSON is not a manifest of a known format, or its
     *                               content does not hash to its id
     */
    public static Manifest fromJson(String json, String source) {
        Manifest m;
        try {
            m = JSON.readValue(json, Manifest.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("corrupt manifest " + source + ": "
                    + String.valueOf(e.getOriginalMessage()).lines().findFirst().orElse(""));
        }
        if (m == null || !FORMAT.equals(m.format())) {
            throw new IllegalStateException("unsupported manifest format '" + (m == null ? null : m.format()) + "' in "
                    + source + " (expected " + FORMAT + ")");
        }
        String actual = m.contentHash();
        if (!actual.equals(m.id())) {
            throw new IllegalStateException("manifest " + source + " does not match its id: its content hashes to "
                    + actual + ", its id says " + m.id() + " (edited or damaged after it was published)");
        }
        return m;
    }

    /** A numeric fact, or an error naming the manifest when it is missing. */
    public double number(String key) {
        Object v = facts.get(key);
        if (!(v instanceof Number n)) {
            throw new IllegalStateException("manifest " + id + " (" + job + ") has no numeric fact '" + key + "'");
        }
        return n.doubleValue();
    }

    /** A string fact, or an error naming the manifest when it is missing. */
    public String text(String key) {
        Object v = facts.get(key);
        if (v == null) {
            throw new IllegalStateException("manifest " + id + " (" + job + ") has no fact '" + key + "'");
        }
        return v.toString();
    }

    /** The config as a typed object. */
    public <T> T config(Class<T> type) {
        try {
            return JSON.treeToValue(config, type);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("manifest " + id + " has a config that is not a " + type.getSimpleName());
        }
    }

    /** Ordered map helper for building facts. */
    public static Map<String, Object> facts(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    /**
     * Whether this output was produced by {@code config}: compared as the config reads back from JSON, so that e.g. a
     * {@code long} 3 and the {@code 3} a manifest file parses to are equal.
     */
    public boolean madeBy(Object config) {
        try {
            return this.config.equals(JSON.readTree(json(config)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code value} as compact one-line JSON in insertion order: job summaries, plans, score lines. */
    public static String oneLine(Object value) {
        try {
            return LINE.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code value} as JSON with distillery's conventions (sorted keys, indented), e.g. for reports. */
    public static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The shared mapper (sorted keys, indented) for other JSON distillery writes, e.g. reports. */
    public static ObjectMapper mapper() {
        return JSON;
    }

}
