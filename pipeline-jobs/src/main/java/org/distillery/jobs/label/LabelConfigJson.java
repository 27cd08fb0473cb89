package org.distillery.jobs.label;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import org.distillery.jobs.common.PublishMode;

/**
 * The JSON shape of a {@link LabelConfig}: one flat object whose keys and their order are what label manifests have
 * recorded, which {@link org.distillery.model.schema.Manifest#madeBy} compares on a rerun, so a key renamed or moved
 * here makes every published soft-target output a stranger to its rerun. The storage options, the hint layer, the
 * partitions, the ONNX outputs and the vocabulary pin are left out when unset, as before they existed.
 */
record LabelConfigJson(String transfer, List<String> teachers, List<Double> weights, String ensemble, String out,
                       double temperature, int batchSize, List<String> teacherSha256s, PublishMode mode,
                       @JsonInclude(JsonInclude.Include.NON_NULL) String precision,
                       @JsonInclude(JsonInclude.Include.NON_NULL) Integer topK,
                       @JsonInclude(JsonInclude.Include.NON_NULL) Boolean soft,
                       @JsonInclude(JsonInclude.Include.NON_NULL) Integer hintLayer,
                       @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> partitions,
                       @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> teacherOutputs,
                       @JsonInclude(JsonInclude.Include.NON_NULL) String vocabularySha256) {

    static LabelConfigJson of(LabelConfig c) {
        LabelConfig.Teachers t = c.teachers();
        LabelConfig.Stored s = c.stored();
        return new LabelConfigJson(c.transfer(), t.paths(), t.weights(), t.ensemble(), c.out(), c.temperature(),
                c.batchSize(), t.sha256s(), c.mode(), s.precision(), s.topK(), s.soft(), s.hintLayer(),
                c.partitions(), t.outputs(), t.vocabularySha256());
    }
}
