package org.distillery.jobs.label;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distillery.jobs.common.DryRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.PartitionedTable;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.ResolvedInput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Labels a partitioned transfer set ({@link PartitionedTable}) into a soft-target table partitioned the same way, one
 * partition at a time: each selected partition {@code COLUMN=VALUE} of the transfer set is labelled, as a table of its
 * own, into {@code OUT/COLUMN=VALUE} and published there atomically with its own manifest, quality and drift reports;
 * partitions not selected are never touched (dynamic partition overwrite). {@code --mode} applies per partition, and
 * with {@code incremental} a partition whose transfer partition, teacher, T and storage layout are those its published
 * soft targets were made from is kept without reading a row; a changed one is relabeled row by row as a whole table
 * would be ({@link Incremental}). A run that fails after some partitions leaves those published and the rest as they
 * were; the same command run again (an Airflow retry) keeps the finished ones and goes on.
 */
final class PartitionedLabel {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionedLabel.class);

    /** One selected partition: its run, its checked inputs, and what the run will do to its output. */
    private record Step(String name, LabelConfig config, LabelJob.Checked checked, String action, boolean keep) {
    }

    private final PartitionedTable transfer;
    private final List<Step> steps;

    private PartitionedLabel(PartitionedTable transfer, List<Step> steps) {
        this.transfer = transfer;
        this.steps = steps;
    }

    /** Every rule, for every selected partition, checked before any partition is labelled (no Spark). */
    static PartitionedLabel plan(Storage storage, LabelConfig config) {
        PartitionedTable table = PartitionedTable.read(storage, config.transfer());
        Manifest combined = table.manifest(); // the partitions agree on feature and class counts
        List<String> names = config.partitions().isEmpty()
                ? table.partitions().stream().map(PartitionedTable.Partition::name).toList() : config.partitions();
        for (String name : names) {
            if (table.partition(name) == null) {
                throw new IllegalArgumentException("partition " + name + " not found in transfer set " + table.root()
                        + " (it has " + table.partitions().stream().map(PartitionedTable.Partition::name).toList()
                        + ")");
            }
        }
        String out = storage.qualify(config.out());
        if (storage.exists(out + "/" + Manifest.SUCCESS)) {
            throw new IllegalArgumentException("output " + out + " is a published table, not partitioned: a partitioned"
                    + " transfer set is labelled into a directory of partitions (choose another --out)");
        }
        List<String> outNames = PartitionedTable.childNames(storage, out);
        if (!outNames.isEmpty() && !PartitionedTable.column(outNames.get(0)).equals(table.column())) {
            throw new IllegalArgumentException("output " + out + " is partitioned by "
                    + PartitionedTable.column(outNames.get(0)) + ", the transfer set by " + table.column());
        }
        LabelJob.Checked teachers = LabelJob.checkTeachers(storage, config, TransferSchema.shape(combined));
        String teacherSha256 = teachers.sha256(config);
        List<Step> steps = new ArrayList<>();
        for (String name : names) {
            LabelConfig one = config.forPartition(name);
            // the partition's manifest was verified as the table was read: its columns are checked here
            ResolvedInput input = TransferTables.checkTransfer(storage,
                    ResolvedInput.partition(one.transfer(), table.partition(name)));
            String target = storage.qualify(one.out());
            String action = "new";
            boolean keep = false;
            if (storage.exists(target)) {
                if (config.mode() == PublishMode.FAIL_IF_EXISTS) {
                    throw new IllegalArgumentException("output partition already exists (refusing to overwrite a"
                            + " published output; --mode overwrite or incremental replaces it): " + target);
                }
                Manifest previous = storage.publishedManifest(target);
                String unchanged = config.mode() == PublishMode.INCREMENTAL
                        ? Incremental.unchanged(previous, input.manifest(), teacherSha256, teachers.layout(),
                        config.temperature(), target) : null;
                keep = unchanged != null;
                action = keep ? "kept: " + unchanged : "replaces manifest " + previous.id() + " (mode "
                        + config.mode().id() + ")";
            }
            steps.add(new Step(name, one, teachers.on(input), action, keep));
        }
        return new PartitionedLabel(table, steps);
    }

    DryRun dryRun(Storage storage, LabelConfig config) {
        LabelJob.Checked c = steps.isEmpty() ? null : steps.get(0).checked();
        DryRun plan = new DryRun("label").with("transfer", transfer.toString());
        if (c != null) {
            plan.with("teacher", c.teachers().size() == 1 ? c.teacher().zipPath() + " (sha256 " + c.teacher().sha256()
                    + ")" : c.teachers().size() + " teachers (" + config.teachers().ensemble() + " averaging, sha256 "
                    + c.sha256(config) + ")");
            plan.with("storage", c.layout().describe());
        }
        plan.with("temperature", config.temperature())
                .with("out", storage.qualify(config.out()) + " (partitioned by " + transfer.column() + ")");
        for (Step s : steps) {
            plan.with(s.name(), (long) s.checked().transferManifest().number("rows") + " rows: " + s.action());
        }
        return plan;
    }

    /** Labels each selected partition not kept, in partition order, and reports on the whole output table. */
    JobResult run(LabelJob job, Storage storage, LabelConfig config, long start) {
        List<String> labelled = new ArrayList<>();
        List<String> kept = new ArrayList<>();
        long writtenRows = 0;
        for (int i = 0; i < steps.size(); i++) {
            Step s = steps.get(i);
            if (s.keep()) {
                kept.add(s.name());
                LOG.info("partition {} ({} of {}): {}", s.name(), i + 1, steps.size(), s.action());
                continue;
            }
            LOG.info("partition {} ({} of {}): labeling {} rows ({})", s.name(), i + 1, steps.size(),
                    (long) s.checked().transferManifest().number("rows"), s.action());
            JobResult r = job.run(s.config(), s.checked(), System.nanoTime());
            labelled.add(s.name());
            writtenRows += r.rows();
            LOG.info("partition {} ({} of {}) published: {} rows in {} s, manifest {}", s.name(), i + 1, steps.size(),
                    r.rows(), String.format("%.1f", r.seconds()), r.manifestId());
        }
        PartitionedTable out = PartitionedTable.read(storage, config.out());
        try {
            out.manifest();
        } catch (IllegalArgumentException e) { // e.g. one partition relabeled by a new teacher, the others not yet
            LOG.warn("the output table cannot be read as one yet: {}", e.getMessage());
        }
        long rows = out.partitions().stream().mapToLong(p -> (long) p.manifest().number("rows")).sum();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("partitionsLabelled", labelled);
        details.put("partitionsKept", kept);
        details.put("rowsWritten", writtenRows);
        JobResult result = new JobResult("label", out.root(), out.id(), rows, (System.nanoTime() - start) / 1e9,
                details);
        LOG.info("{} of {} selected partitions labelled ({} rows), {} kept; the table has {} partitions and {} rows",
                labelled.size(), steps.size(), writtenRows, kept.size(), out.partitions().size(), rows);
        return result;
    }
}
