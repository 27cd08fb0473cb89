package org.distillery.jobs.train;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.train.averaging.EngineConfig;
import org.distillery.model.loss.Divergence;

/**
 * The JSON shape of a {@link TrainConfig}: one flat object whose keys and their order are what manifests have recorded
 * since the first train job. {@link org.distillery.model.schema.Manifest#madeBy} compares it and checkpoint run hashes
 * hash its text, so a key renamed or moved here makes every published model and checkpoint a stranger to its rerun.
 * {@code features} is left out when null, so that configs without hint or relation terms keep their run hashes;
 * {@code task} and {@code lm} likewise for classifiers (the task before there were others), {@code windows}
 * when an LM trains on all its windows, and {@code peers} for objectives other than mutual.
 */
record TrainConfigJson(Objective objective, String softTargets, String transfer, String validation, String out,
                       String architecture, double dropout, int epochs, int patience, double learningRate,
                       List<Double> temperatures, List<Double> alphas, boolean retemper, Integer labelled, long seed,
                       int workers, int batchSize, int averagingFrequency, PublishMode mode, String checkpointDir,
                       boolean resume, String lrSchedule, EngineConfig engine, Divergence divergence,
                       @JsonInclude(JsonInclude.Include.NON_NULL) FeatureTerms features,
                       @JsonInclude(JsonInclude.Include.NON_NULL) String task,
                       @JsonInclude(JsonInclude.Include.NON_NULL) TrainConfig.Lm lm,
                       @JsonInclude(JsonInclude.Include.NON_NULL) Integer windows,
                       @JsonInclude(JsonInclude.Include.NON_NULL) Integer peers) {

    static TrainConfigJson of(TrainConfig c) {
        TrainConfig.Data d = c.data();
        TrainConfig.Schedule s = c.schedule();
        TrainConfig.Loss l = c.loss();
        TrainConfig.Averaging a = c.averaging();
        return new TrainConfigJson(c.objective(), d.softTargets(), d.transfer(), d.validation(), c.out(),
                c.student().architecture(), c.student().dropout(), s.epochs(), s.patience(), s.learningRate(),
                l.temperatures(), l.alphas(), l.retemper(), d.labelled(), c.seed(), a.workers(), a.batchSize(),
                a.averagingFrequency(), c.mode(), c.checkpointing().dir(), c.checkpointing().resume(), s.lrSchedule(),
                a.engine(), l.divergence(), l.features(), c.task() == Task.CLASSIFIER ? null : c.task().id(), c.lm(),
                d.windows(), c.objective() == Objective.MUTUAL ? c.peers() : null);
    }
}
