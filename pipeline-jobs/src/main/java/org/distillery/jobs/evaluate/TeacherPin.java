package org.distillery.jobs.evaluate;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.Manifest;

/**
 * The teacher a student's agreement and KL are measured against: the one its soft targets came from, as the label
 * manifest behind the student records it (train manifest -> soft targets -> {@code teachers}). Another teacher would
 * give numbers that say nothing about the distillation, so it is refused unless asked for; with no {@code --teacher},
 * the recorded teacher is read from where it was labelled from.
 *
 * @param teacherSha256 the soft targets' {@code teacherSha256} (one teacher's SHA-256, or an ensemble's digest)
 * @param members       the teachers that labelled them, each with the path it was read from and its SHA-256
 * @param imported      whether the soft targets were imported (black-box): their teacher does not run here
 * @param students      the models whose soft targets name these teachers
 */
record TeacherPin(String teacherSha256, List<Member> members, boolean imported, List<String> students) {

    /** One teacher of the soft targets: where it was read, its SHA-256 and the ONNX output read (null: the only). */
    record Member(String path, String sha256, String output) {
    }

    /**
     * The teachers the distilled models among {@code models} name, or null when none was distilled from soft targets.
     *
     * @throws IllegalArgumentException when they name different teachers, or soft targets that changed since
     */
    static TeacherPin of(Storage storage, Map<String, ModelArtifact> models) {
        Map<String, Manifest> labels = new LinkedHashMap<>();
        models.forEach((name, artifact) -> {
            Manifest.Input soft = artifact.manifest() == null ? null : artifact.manifest().inputs().get("softTargets");
            if (soft != null) {
                Manifest label = TransferTables.published(storage, soft.path());
                if (!label.id().equals(soft.manifestId())) {
                    throw new IllegalArgumentException("model " + name + " was trained on soft targets " + soft.path()
                            + " (manifest " + soft.manifestId() + "), which are now manifest " + label.id()
                            + ": the teacher it was distilled from is no longer known; pass --teacher and"
                            + " --allow-other-teacher to compare anyway");
                }
                labels.put(name, label);
            }
        });
        if (labels.isEmpty()) {
            return null;
        }
        String first = labels.keySet().iterator().next();
        Manifest reference = labels.get(first);
        for (Map.Entry<String, Manifest> e : labels.entrySet()) {
            if (!Objects.equals(e.getValue().facts().get("teacherSha256"), reference.facts().get("teacherSha256"))) {
                throw new IllegalArgumentException("models " + first + " and " + e.getKey() + " were distilled from"
                        + " different teachers (sha256 " + reference.facts().get("teacherSha256") + ", "
                        + e.getValue().facts().get("teacherSha256") + "): evaluate them in two runs");
            }
        }
        List<Member> members = new ArrayList<>();
        if (reference.facts().get("teachers") instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof Map<?, ?> m) {
                    members.add(new Member(String.valueOf(m.get("path")), String.valueOf(m.get("sha256")),
                            m.get("output") == null ? null : String.valueOf(m.get("output"))));
                }
            }
        }
        Manifest.Input one = reference.inputs().get("teacher");
        if (members.isEmpty() && one != null) { // token soft targets: one teacher LM, named by the label inputs
            Object output = reference.facts().get("teacherOutput");
            members.add(new Member(one.path(), String.valueOf(reference.facts().get("teacherSha256")),
                    output == null ? null : String.valueOf(output)));
        }
        return new TeacherPin(String.valueOf(reference.facts().get("teacherSha256")), List.copyOf(members),
                reference.facts().containsKey("imported"), List.copyOf(labels.keySet()));
    }

    /** The models, as a phrase: "student was" or "a, b were". */
    String who() {
        return String.join(", ", students) + (students.size() == 1 ? " was" : " were");
    }

    /**
     * The member of the pin that {@code teacher} is (the same SHA-256).
     *
     * @throws IllegalArgumentException naming both when it is none of them
     */
    Member check(ModelArtifact teacher) {
        return members.stream().filter(m -> !imported && m.sha256().equals(teacher.sha256())).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("--teacher " + teacher.zipPath() + " (sha256 "
                        + teacher.sha256() + ") is not the teacher " + who() + " distilled from (" + describe() + "); "
                        + (imported || members.size() != 1 ? "" : "leave --teacher out to use that one, or ")
                        + "pass --allow-other-teacher to compare anyway"));
    }

    /** The recorded teacher(s), for messages. */
    String describe() {
        if (imported) {
            return "imported outputs, sha256 " + teacherSha256;
        }
        return String.join(" + ", members.stream().map(m -> m.path() + ", sha256 " + m.sha256()).toList());
    }
}
