package org.distillery.jobs.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.Versions;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Training state saved after every epoch on any Hadoop filesystem, so that a killed or retried run resumes instead of
 * restarting: {@code <dir>/run-<fingerprint>/<trial>/epoch-NNNN/} holds the network with its updater state ({@code model.zip}, which
 * also carries the iteration and epoch counters), the best parameters so far ({@code best.bin}) and a manifest with the
 * epoch, early-stopping state, score lines, the seeds the epoch order derives from, and a fingerprint of the config and
 * input manifests. Each checkpoint is published like any output (staged, manifest and _SUCCESS last), so a kill during
 * a save leaves the previous checkpoint intact. The two newest checkpoints of a trial are kept.
 */
final class Checkpoints {
    private static final Logger LOG = LoggerFactory.getLogger(Checkpoints.class);
    private static final int KEEP = 2;
    private final Storage storage;
    private final String dir;
    private final JsonNode fingerprint;

    /** A trial's state as of the end of {@code epoch}. */
    record State(int epoch, int bestEpoch, double bestAccuracy, INDArray bestParams, List<String> scoreLines,
                 boolean finished, MultiLayerNetwork network) {
    }

    private Checkpoints(Storage storage, String dir, JsonNode fingerprint) {
        this.storage = storage;
        this.dir = dir;
        this.fingerprint = fingerprint;
    }

    /**
     * Checkpoints of {@code config} in its checkpoint directory, or null when it has none. Each run (config without
     * run-control fields, plus input manifest ids) has its own subdirectory named by a hash of it, so --resume only
     * ever continues the very same run; after the teacher or the config changed, a rerun starts fresh beside the old
     * checkpoints instead of failing. Existing checkpoints of the same run are only used with {@code --resume}.
     */
    static Checkpoints open(Storage storage, TrainConfig config, Map<String, Manifest.Input> inputs) {
        if (config.checkpointing().dir() == null) {
            return null;
        }
        JsonNode fingerprint = fingerprint(config, inputs);
        String run = "run-" + Models.sha256(fingerprint.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .substring(0, 16);
        String dir = storage.qualify(config.checkpointing().dir()) + "/" + run;
        Checkpoints c = new Checkpoints(storage, dir, fingerprint);
        List<String> existing = c.trialDirs();
        if (!existing.isEmpty() && !config.checkpointing().resume()) {
            throw new IllegalArgumentException("checkpoint directory already holds checkpoints (pass --resume to continue"
                    + " from them, or use an empty directory): " + c.dir);
        }
        return c;
    }

    /** What identifies a training run: its config without the run-control fields, and its inputs' manifest ids. */
    private static JsonNode fingerprint(TrainConfig config, Map<String, Manifest.Input> inputs) {
        ObjectNode node = Manifest.mapper().valueToTree(config);
        node.remove(List.of("resume", "mode", "checkpointDir", "out")); // where to, not what
        if (node.get("engine") instanceof ObjectNode engine) {
            engine.remove("rounds"); // how rounds travel, not what they compute: a run may resume with the other
        }
        Map<String, String> ids = new LinkedHashMap<>();
        inputs.forEach((role, in) -> ids.put(role, in.manifestId()));
        node.set("inputManifests", Manifest.mapper().valueToTree(ids));
        return node;
    }

    String dir() {
        return dir;
    }

    private List<String> trialDirs() {
        if (!storage.exists(dir)) {
            return List.of();
        }
        return list(dir).stream().filter(n -> n.startsWith("trial-")).toList();
    }

    private List<String> list(String path) {
        try {
            return Arrays.stream(storage.fs(path).listStatus(new Path(path))).filter(FileStatus::isDirectory)
                    .map(s -> s.getPath().getName()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + path, e);
        }
    }

    static String trialName(double temperature, double alpha) {
        return "trial-T" + temperature + "-alpha" + alpha;
    }

    /** The latest published checkpoint of a trial, or null. */
    State latest(String trial) {
        String trialDir = dir + "/" + trial;
        if (!storage.exists(trialDir)) {
            return null;
        }
        List<String> epochs = new ArrayList<>(list(trialDir).stream().filter(n -> n.startsWith("epoch-")).toList());
        for (int i = epochs.size() - 1; i >= 0; i--) {
            String path = trialDir + "/" + epochs.get(i);
            if (!storage.exists(path + "/" + Manifest.SUCCESS)) {
                continue; // never published: a kill during the save
            }
            return read(path);
        }
        return null;
    }

    private State read(String path) {
        Manifest m = storage.publishedManifest(path);
        if (!m.madeBy(fingerprint)) {
            throw new IllegalArgumentException("checkpoint " + path + " was written by a different training config or"
                    + " different inputs; use another --checkpoint-dir (or delete this one) to start over");
        }
        MultiLayerNetwork net = Models.fromBytes(storage.readBytes(path + "/model.zip"), path + "/model.zip", true);
        byte[] best = storage.readBytes(path + "/best.bin");
        INDArray bestParams = best.length == 0 ? null : read(best);
        @SuppressWarnings("unchecked")
        List<String> lines = (List<String>) m.facts().get("scoreLines");
        LOG.info("resuming from checkpoint {} (epoch {})", path, (int) m.number("epoch"));
        double bestAccuracy = m.facts().get("bestAccuracy") instanceof Number n ? n.doubleValue() : Double.NaN;
        return new State((int) m.number("epoch"), (int) m.number("bestEpoch"), bestAccuracy, bestParams,
                lines, Boolean.TRUE.equals(m.facts().get("finished")), net);
    }

    /** Publishes the state after {@code state.epoch()} and drops all but the newest checkpoints of the trial. */
    void save(String trial, State state, long seed) {
        String trialDir = dir + "/" + trial;
        String target = trialDir + "/" + String.format("epoch-%04d", state.epoch());
        try (StagedOutput out = StagedOutput.begin(storage, target,
                org.distillery.jobs.common.PublishMode.OVERWRITE)) {
            storage.writeBytes(out.path("model.zip"), Models.toBytes(state.network(), true));
            storage.writeBytes(out.path("best.bin"), state.bestParams() == null ? new byte[0] : write(state.bestParams()));
            Map<String, Object> facts = Manifest.facts("epoch", state.epoch(), "bestEpoch", state.bestEpoch(),
                    "bestAccuracy", Double.isNaN(state.bestAccuracy()) ? "none (no validation)" : state.bestAccuracy(),
                    "finished", state.finished(),
                    "scoreLines", state.scoreLines(),
                    "rng", "epoch order seed " + (seed * 31 + state.epoch() + 1) + " (seed*31+epoch); no other"
                            + " randomness without dropout");
            out.publish(Manifest.sealed("checkpoint", fingerprint, Map.of(), facts, Versions.current(),
                    java.time.Instant.now().toString()), state.epoch(), System.nanoTime());
        }
        List<String> epochs = list(trialDir).stream().filter(n -> n.startsWith("epoch-")).toList();
        for (int i = 0; i < epochs.size() - KEEP; i++) {
            storage.delete(trialDir + "/" + epochs.get(i));
        }
    }

    private static byte[] write(INDArray a) {
        try (ByteArrayOutputStream bytes = new ByteArrayOutputStream();
             java.io.DataOutputStream out = new java.io.DataOutputStream(bytes)) {
            Nd4j.write(a, out);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static INDArray read(byte[] b) {
        try (java.io.DataInputStream in = new java.io.DataInputStream(new ByteArrayInputStream(b))) {
            return Nd4j.read(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
