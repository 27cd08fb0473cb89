package org.distillery.jobs.export;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.TransferSchema;
import org.distillery.model.schema.Manifest;

/**
 * The model card published beside the exported files: {@value ExportJob#CARD_JSON} (everything, for machines) and
 * {@value ExportJob#CARD_MD} (a short page for people). What the model is (interface, preprocessing, size, latency),
 * how it was made (objective, T, alpha, the teacher's SHA-256, the transfer set) read from the manifests it chains
 * to, how it scored (an evaluation's entries for its files, when one is given) and how the export was checked.
 */
final class ModelCard {
    private static final int MAX_CHAIN = 50;

    private ModelCard() {
    }

    /** The card's content: interface, files, provenance from the chain, verification, calibration, metrics, chain. */
    static Map<String, Object> build(Storage storage, ExportJob.Checked k, ExportConfig c, Map<String, Object> facts) {
        List<Link> chain = chain(storage, k.model().path(), k.model().manifest());
        Manifest train = k.model().manifest();
        Manifest label = find(chain, "label");
        Map<String, Object> card = new LinkedHashMap<>();
        card.put("name", new org.apache.hadoop.fs.Path(k.model().path()).getName());
        Map<String, Object> io = new LinkedHashMap<>();
        io.put("input", OnnxExport.INPUT);
        io.put("inputLayout", ExportJob.inputLayout(k));
        io.put("exampleShape", facts.get(TransferSchema.SHAPE));
        io.put("preprocessing", k.preprocessing());
        io.put("output", OnnxExport.OUTPUT);
        io.put("outputMeaning", ExportJob.outputMeaning(k));
        card.put("interface", io);
        card.put("files", facts.get("files"));
        Map<String, Object> made = new LinkedHashMap<>();
        made.put("source model", k.model().zipPath() + " (sha256 " + k.model().sha256() + ", " + facts.get("sourceBytes")
                + " bytes, " + facts.get("parameters") + " parameters, " + facts.get("architecture") + ")");
        for (String key : List.of("objective", "divergence", "temperature", "alpha", "labelledRows", "rows",
                "validationAccuracy")) {
            if (train != null && train.facts().containsKey(key)) {
                made.put(key.equals("temperature") ? "T" : key, train.facts().get(key));
            }
        }
        made.put("teacher SHA-256", label == null
                ? "none: no label manifest in the chain (trained without soft targets)"
                : label.facts().getOrDefault("teacherSha256", "not recorded"));
        made.put("transfer set", k.transfer() == null ? "unknown" : k.transferPath() + " (manifest " + k.transfer().id()
                + ", " + k.transfer().facts().get("rows") + " rows)");
        card.put("provenance", made);
        card.put("verification", facts.get("verification"));
        Object q = facts.get("quantization");
        if (q instanceof Map<?, ?> quantization) {
            Map<String, Object> cal = new LinkedHashMap<>();
            cal.put("rows", quantization.get("calibrationRows"));
            cal.put("transfer", k.calibration().path());
            cal.put("manifest", quantization.get("calibrationManifest"));
            cal.put("method", quantization.get("method"));
            cal.put("weights", quantization.get("weights"));
            cal.put("activationRanges", quantization.get("activationRanges"));
            card.put("calibration", cal);
        } else {
            card.put("calibration", "none: float32 only (--quantize none)");
        }
        card.put("testMetrics", c.evaluation() == null ? "none: no --evaluation given"
                : testMetrics(storage, c.evaluation(), shaToFile(k, facts)));
        card.put("manifestChain", chain.stream().map(Link::describe).toList());
        return card;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> shaToFile(ExportJob.Checked k, Map<String, Object> facts) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(k.model().sha256(), "source " + new org.apache.hadoop.fs.Path(k.model().zipPath()).getName());
        ((Map<String, Map<String, Object>>) facts.get("files")).forEach((name, f) -> m.put((String) f.get("sha256"),
                name));
        return m;
    }

    /** One manifest reached by walking {@code inputs} from the model's: the roles walked, and what was found there. */
    record Link(String via, String path, String recordedId, Manifest found, String note) {
        Map<String, Object> describe() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("via", via);
            m.put("path", path);
            m.put("manifest", recordedId);
            if (found != null) {
                m.put("job", found.job());
            }
            m.put("status", note);
            return m;
        }
    }

    /**
     * The manifests {@code model} chains to, breadth first: each input's manifest is read where it was published and
     * kept when its id is still the one recorded ("changed since" otherwise, "not readable" when gone).
     */
    static List<Link> chain(Storage storage, String path, Manifest model) {
        List<Link> links = new ArrayList<>();
        if (model == null) {
            return links;
        }
        links.add(new Link("model", path, model.id(), model, "found"));
        Set<String> seen = new HashSet<>(Set.of(model.id()));
        for (int i = 0; i < links.size() && links.size() < MAX_CHAIN; i++) {
            Link from = links.get(i);
            if (from.found() == null) {
                continue;
            }
            for (Map.Entry<String, Manifest.Input> e : from.found().inputs().entrySet()) {
                Manifest.Input in = e.getValue();
                String via = from.via() + " > " + e.getKey();
                if (in.manifestId() == null) {
                    links.add(new Link(via, in.path(), null, null, "raw input (no manifest)"));
                } else if (seen.add(in.manifestId())) {
                    links.add(read(storage, via, in));
                }
            }
        }
        return links;
    }

    private static Link read(Storage storage, String via, Manifest.Input in) {
        try {
            Manifest m = TransferTables.published(storage, in.path());
            return m.id().equals(in.manifestId()) ? new Link(via, in.path(), in.manifestId(), m, "found")
                    : new Link(via, in.path(), in.manifestId(), null, "changed since (now manifest " + m.id() + ")");
        } catch (RuntimeException e) {
            return new Link(via, in.path(), in.manifestId(), null, "not readable: " + e.getMessage());
        }
    }

    /** The first manifest of the chain written by {@code job}, or null. */
    static Manifest find(List<Link> chain, String job) {
        return chain.stream().map(Link::found).filter(m -> m != null && job.equals(m.job())).findFirst().orElse(null);
    }

    /**
     * The entries of an evaluation report that scored one of {@code files} (file name by SHA-256: the source model
     * or an identical export), with the file each one scored.
     */
    static Map<String, Object> testMetrics(Storage storage, String evaluation, Map<String, String> files) {
        JsonNode report;
        try {
            report = Manifest.mapper().readTree(storage.readText(evaluation + "/" + ExportJob.EVALUATION_REPORT));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("corrupt evaluation report in " + evaluation + ": " + e.getOriginalMessage());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        report.path("models").fields().forEachRemaining(e -> {
            String file = files.get(e.getValue().path("sha256").asText(""));
            if (file != null) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("file", file);
                for (String k : List.of("accuracy", "agreement_with_teacher", "mean_kl_from_teacher", "ece",
                        "model_bytes", "latency_ms_p50")) {
                    if (e.getValue().has(k)) {
                        m.put(k, e.getValue().get(k).asDouble());
                    }
                }
                if (e.getValue().path("calibration").has("ece_after_temperature")) {
                    m.put("ece_after_temperature", e.getValue().path("calibration").get("ece_after_temperature")
                            .asDouble());
                }
                out.put(e.getKey(), m);
            }
        });
        out.put("test", report.path("test").asText(""));
        out.put("test_rows", report.path("test_rows").asLong());
        return out;
    }

    /** The Markdown page: a few sections, each a short table or list, from the card's JSON map. */
    @SuppressWarnings("unchecked")
    static String markdown(Map<String, Object> card) {
        StringBuilder b = new StringBuilder("# Model card: ").append(card.get("name")).append("\n\n");
        Map<String, Object> io = (Map<String, Object>) card.get("interface");
        b.append("## Interface\n\n")
                .append("- input `").append(io.get("input")).append("`: ").append(io.get("inputLayout")).append('\n')
                .append("- output `").append(io.get("output")).append("`: ").append(io.get("outputMeaning")).append('\n')
                .append("- preprocessing: ").append(io.get("preprocessing")).append("\n\n");
        b.append("## Files\n\n| file | bytes | SHA-256 | latency, 1 row (ONNX Runtime, ms) |\n|---|---|---|---|\n");
        ((Map<String, Map<String, Object>>) card.get("files")).forEach((name, f) -> b.append("| ").append(name)
                .append(" | ").append(f.get("bytes")).append(" | `").append(f.get("sha256")).append("` | ")
                .append(String.format("%.3f", (Double) f.get("latencyMsP50"))).append(" |\n"));
        b.append("\n## How it was made\n\n");
        ((Map<String, Object>) card.get("provenance")).forEach((k, v) -> b.append("- ").append(k).append(": ")
                .append(v).append('\n'));
        b.append("\n## Verification against DL4J\n\n");
        ((Map<String, Object>) card.get("verification")).forEach((k, v) -> b.append("- ").append(k).append(": ")
                .append(v).append('\n'));
        b.append("\n## Calibration\n\n").append(summary(card.get("calibration"))).append("\n\n## Test metrics\n\n");
        Object metrics = card.get("testMetrics");
        if (metrics instanceof Map<?, ?> m) {
            b.append("| model | file | accuracy | agreement with teacher | ECE |\n|---|---|---|---|---|\n");
            m.forEach((k, v) -> {
                if (v instanceof Map<?, ?> e) {
                    b.append("| ").append(k).append(" | ").append(e.get("file")).append(" | ").append(e.get("accuracy"))
                            .append(" | ").append(e.get("agreement_with_teacher")).append(" | ").append(e.get("ece"))
                            .append(" |\n");
                }
            });
            b.append("\non ").append(m.get("test")).append(" (").append(m.get("test_rows")).append(" rows)\n");
        } else {
            b.append(metrics).append('\n');
        }
        b.append("\n## Manifest chain\n\n");
        for (Map<String, Object> l : (List<Map<String, Object>>) card.get("manifestChain")) {
            b.append("- ").append(l.get("via")).append(": ").append(l.get("job") == null ? "" : l.get("job") + " ")
                    .append(l.get("manifest") == null ? "" : "`" + l.get("manifest") + "` ").append("at ")
                    .append(l.get("path")).append(" (").append(l.get("status")).append(")\n");
        }
        return b.toString();
    }

    @SuppressWarnings("unchecked")
    private static String summary(Object calibration) {
        if (!(calibration instanceof Map<?, ?> c)) {
            return String.valueOf(calibration);
        }
        Map<String, Object> m = (Map<String, Object>) c;
        return m.get("rows") + " rows of " + m.get("transfer") + " (manifest " + m.get("manifest") + "), activation"
                + " ranges by " + m.get("method") + "; weights " + m.get("weights") + ".";
    }
}
