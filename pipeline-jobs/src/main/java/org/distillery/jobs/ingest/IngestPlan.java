package org.distillery.jobs.ingest;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.raise_error;
import static org.apache.spark.sql.functions.when;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.ingest.IngestConfig.Format;
import org.distillery.model.schema.FeatureTransform;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything ingest decides before it writes a row: the source read, the id, label and feature columns resolved and
 * type-checked, the keys pass (ids unique, class map, splits), and the feature transform (declared, fitted on the
 * training split, or taken from {@code --transform-from}). {@link #rows()} is then the one pass that converts,
 * checks and transforms every row.
 */
final class IngestPlan implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IngestPlan.class);

    final IngestConfig config;
    final SourceTable table;
    final RowIds ids;
    final Column label;
    final ClassMap classes;
    final Column split;
    final String splitRule;
    final Map<String, Long> expectedRows;
    final FeatureColumns features;
    final FeatureTransform transform;
    final Manifest reference;
    final Map<String, Object> sourceFacts;
    private final RowKeys keys;
    private final List<Broadcast<?>> broadcasts;

    private IngestPlan(IngestConfig config, SourceTable table, RowIds ids, Column label, ClassMap classes, Column split,
                       String splitRule, Map<String, Long> expectedRows, FeatureColumns features,
                       FeatureTransform transform, Manifest reference, Map<String, Object> sourceFacts, RowKeys keys,
                       List<Broadcast<?>> broadcasts) {
        this.config = config;
        this.table = table;
        this.ids = ids;
        this.label = label;
        this.classes = classes;
        this.split = split;
        this.splitRule = splitRule;
        this.expectedRows = expectedRows;
        this.features = features;
        this.transform = transform;
        this.reference = reference;
        this.sourceFacts = sourceFacts;
        this.keys = keys;
        this.broadcasts = broadcasts;
    }

    /** The manifest of {@code --transform-from}, checked to be a published transfer set that records a transform. */
    static Manifest reference(Storage storage, IngestConfig config) {
        String dir = config.preprocessing().transformFrom();
        if (dir == null) {
            return null;
        }
        Manifest m = TransferTables.checkTransfer(storage, dir);
        if (FeatureTransform.of(m) == null) {
            throw new IllegalArgumentException("--transform-from " + dir + " records no preprocessing (it was not"
                    + " written by this version of ingest)");
        }
        return m;
    }

    static IngestPlan make(SparkSession spark, Storage storage, IngestConfig config) {
        Manifest reference = reference(storage, config);
        IngestConfig.Columns c = config.columns();
        Format format = config.source().format();
        List<Broadcast<?>> broadcasts = new ArrayList<>();
        Map<String, Object> sourceFacts = new LinkedHashMap<>();
        sourceFacts.put("format", format.id());
        sourceFacts.put("location", format == Format.TABLE ? config.source().location()
                : storage.qualify(config.source().location()));
        if (!config.source().options().isEmpty()) {
            sourceFacts.put("options", config.source().options());
        }
        SourceTable table;
        if (format == Format.IDX) {
            IdxSource.Loaded train = IdxSource.load(config.source().location(), IdxSource.TRAIN);
            IdxSource.checkValidation(train, config.splits().validationRows());
            IdxSource.Loaded test = IdxSource.load(config.source().location(), IdxSource.TEST);
            Map<String, String> sha = new LinkedHashMap<>(train.sha256());
            sha.putAll(test.sha256());
            sourceFacts.put("sha256", sha);
            table = new SourceTable(IdxSource.rows(spark, train, test, config.splits().validationRows(), config.seed(),
                    broadcasts), "IDX files in " + config.source().location());
        } else {
            table = SourceTable.read(spark, config.source());
        }
        RowIds ids = RowIds.resolve(table, c, format);
        ClassMap.Kind kind;
        Column label;
        String labelColumn = format == Format.IDX ? "label" : c.label();
        if (labelColumn == null) {
            kind = ClassMap.Kind.NONE;
            label = lit(null).cast(DataTypes.StringType);
        } else {
            DataType t = table.type(labelColumn, "label");
            if (SourceTable.integral(t)) {
                kind = ClassMap.Kind.INT;
                label = col(labelColumn).cast(DataTypes.LongType);
            } else if (t.equals(DataTypes.StringType)) {
                kind = ClassMap.Kind.STRING;
                label = col(labelColumn);
            } else {
                throw new IllegalArgumentException("label column '" + labelColumn + "' has type " + t.simpleString()
                        + ": a label must be an integer (the class index) or a string (the class name)");
            }
        }
        IngestConfig.Splits s = config.splits();
        Column splitValue = format == Format.IDX ? col("split") : s.none() ? lit("train")
                : s.column() != null ? col(s.column()) : null;
        if (s.column() != null) {
            table.type(s.column(), "split");
        }
        RowKeys keys = RowKeys.scan(table.rows(), ids, label, splitValue, format == Format.IDX);
        try {
            List<String> given = format == Format.IDX ? IdxSource.CLASS_NAMES : !c.classes().isEmpty() ? c.classes()
                    : reference != null ? TransferSchema.classNames(reference) : List.of();
            String givenBy = format == Format.IDX ? "Fashion-MNIST's class names" : !c.classes().isEmpty()
                    ? "--classes" : "--transform-from " + config.preprocessing().transformFrom();
            ClassMap classes = ClassMap.of(kind, labelColumn, keys.labels(), given, givenBy);
            Column split;
            String splitRule;
            Map<String, Long> expected;
            if (splitValue == null) {
                RowKeys.Fractions f = keys.fractions(classes, config.seed(), s.validation(), s.test());
                split = f.split(ids.id(), classes.index(label));
                expected = f.rows();
                splitRule = "per class (and for unlabelled rows), the round(F x rows) rows with the smallest"
                        + " xxhash64(" + config.seed() + ", id) go to test (F = " + s.test() + "), the next to"
                        + " validation (F = " + s.validation() + "), the rest to train";
            } else {
                if (s.column() != null) {
                    keys.checkSplitValues(s.column());
                }
                split = splitValue.cast(DataTypes.StringType);
                expected = keys.rowsBySplit();
                splitRule = format == Format.IDX ? "t10k files: test; training files: " + s.validationRows()
                        + " validation rows stratified by label (ranked by a seeded hash of the id), the rest train"
                        : s.none() ? "none: one transfer set" : "column " + s.column();
            }
            List<String> others = new ArrayList<>(ids.columns());
            if (labelColumn != null) {
                others.add(labelColumn);
            }
            if (s.column() != null) {
                others.add(s.column());
            }
            FeatureColumns features = features(table, config, reference, others, ids);
            FeatureTransform transform = transform(config, reference, table, features, split, ids);
            LOG.info("ingest plan: {} rows, ids {}, labels {}, features {}, {}, splits {}", keys.rows(), ids.rule(),
                    classes.rule(), features.describe(), transform.describe(), expected);
            return new IngestPlan(config, table, ids, label, classes, split, splitRule, expected, features, transform,
                    reference, sourceFacts, keys, broadcasts);
        } catch (RuntimeException e) {
            keys.close();
            throw e;
        }
    }

    private static FeatureColumns features(SourceTable table, IngestConfig config, Manifest reference,
                                           List<String> others, RowIds ids) {
        IngestConfig.Columns c = config.columns();
        Format format = config.source().format();
        List<String> names = c.features();
        if (format == Format.IDX) {
            names = List.of("features");
        } else if (names.isEmpty() && c.featuresPrefix() == null) {
            String fallback = format == Format.IMAGE ? "image" : format == Format.BINARY_FILE ? "content"
                    : table.has("features") ? "features" : null;
            if (fallback == null) {
                throw new IllegalArgumentException("--features COL[,COL...] or --features-prefix P is required: "
                        + table.where() + " has no column named features (columns: "
                        + String.join(", ", table.columns()) + ")");
            }
            names = List.of(fallback);
        }
        String declared = c.shape() != null ? c.shape() : reference != null && reference.facts()
                .get(TransferSchema.SHAPE) instanceof List<?> d && d.size() == 3
                ? d.get(0) + "x" + d.get(1) + "x" + d.get(2) : null;
        String column = names.isEmpty() ? null : names.get(0);
        FeatureColumns f = FeatureColumns.resolve(table, names, c.featuresPrefix(), others, type -> {
            if (declared != null) {
                return new ImageDecoder(ImageShape.parse(declared), true);
            }
            List<Row> first = table.rows().where(col(column).isNotNull()).select(col(column), ids.text()).limit(1)
                    .collectAsList();
            if (first.isEmpty()) {
                throw new IllegalArgumentException("image column '" + column + "' is null in every row");
            }
            ImageDecoder.Planes p = type.equals(DataTypes.BinaryType)
                    ? ImageDecoder.decode(first.get(0).getAs(0), first.get(0).getString(1))
                    : ImageDecoder.imageRow(first.get(0).getStruct(0), first.get(0).getString(1));
            return new ImageDecoder(ImageDecoder.shapeOf(p), false);
        }, ids.text());
        if (format == Format.IDX) {
            f = new FeatureColumns(f.kind(), f.columns(), f.raw(), f.problem(), f.problemButInfinity(), f.count(),
                    IdxSource.shape(f.count()));
        }
        if (c.shape() != null && f.kind() != FeatureColumns.Kind.IMAGE_BYTES
                && f.kind() != FeatureColumns.Kind.IMAGE_ROWS) {
            throw new IllegalArgumentException("--shape applies to image features, but the features are "
                    + f.describe());
        }
        if (reference != null && (int) reference.number(TransferSchema.FEATURE_COUNT) != f.count()) {
            throw new IllegalArgumentException("--transform-from " + config.preprocessing().transformFrom() + " has "
                    + (int) reference.number(TransferSchema.FEATURE_COUNT) + " features, this source " + f.count()
                    + " (" + f.describe() + ")");
        }
        return f;
    }

    /** The declared or recorded transform; with {@code --standardize}, fitted on the training rows. */
    private static FeatureTransform transform(IngestConfig config, Manifest reference, SourceTable table,
                                              FeatureColumns features, Column split, RowIds ids) {
        if (reference != null) {
            return FeatureTransform.of(reference);
        }
        FeatureTransform scale = FeatureTransform.scale(config.scaleOrDefault());
        if (!config.preprocessing().standardize()) {
            return scale;
        }
        Dataset<Row> train = table.rows().where(split.equalTo(lit("train"))).select(checked(features, ids).as("x"));
        int n = features.count();
        JavaRDD<InternalRow> rows = train.queryExecution().toRdd().toJavaRDD();
        ExactSums sums;
        try {
            sums = rows.mapPartitions(it -> {
                ExactSums s = new ExactSums(n);
                while (it.hasNext()) {
                    s.add(scale.applyInPlace(it.next().getArray(0).toFloatArray()));
                }
                return List.of(s).iterator();
            }).reduce(ExactSums::merge);
        } catch (Exception e) {
            throw IngestJob.explain(e, table.where());
        }
        if (sums.rows() == 0) {
            throw new IllegalArgumentException("--standardize fits on the training split, which has no rows");
        }
        float[] mean = new float[n];
        float[] std = new float[n];
        for (int j = 0; j < n; j++) {
            mean[j] = sums.mean(j);
            float sd = sums.std(j);
            std[j] = sd > 0 ? sd : 1f; // a constant feature is centred, not scaled
        }
        return scale.standardized(mean, std);
    }

    /** The raw features, or the row's first problem raised as an error naming the row id. */
    static Column checked(FeatureColumns f, RowIds ids) {
        return checked(f.raw(), f.problem(), ids);
    }

    private static Column checked(Column raw, Column problem, RowIds ids) {
        if (problem == null) {
            return raw;
        }
        return when(problem.isNotNull(), raise_error(concat(lit(IngestJob.ROW_ERROR), problem,
                lit(": row id "), ids.text()))).otherwise(raw);
    }

    /**
     * The transfer rows of every split: id, features (checked, then transformed by {@link
     * FeatureTransform#applyInPlace} in a typed map, the very code an export can run), label, split. With a
     * transform, Spark's expressions check each row's structure (null features, length, null values, NaN) and the
     * map checks that every value is finite as it transforms them: one Java loop over a copied float array instead of
     * two more passes over Spark's array (which the benchmark in docs/PERFORMANCE.md measured).
     */
    Dataset<Row> rows() {
        Column id = ids.id().as(TransferSchema.ID);
        Column classIndex = classes.index(label).as(TransferSchema.LABEL);
        if (transform.equals(FeatureTransform.IDENTITY)) {
            return table.rows().select(id, checked(features, ids).as(TransferSchema.FEATURES), classIndex,
                    split.as("split"));
        }
        FeatureTransform t = transform;
        String column = features.columns().get(0); // the column a non-finite value can come from (arrays, vectors)
        Encoder<TransferRowBean> bean = Encoders.bean(TransferRowBean.class);
        return table.rows().select(id, checked(features.raw(), features.problemButInfinity(), ids)
                        .as(TransferSchema.FEATURES), classIndex, split.as("split"), ids.text().as("idText"))
                .as(bean).map((MapFunction<TransferRowBean, TransferRowBean>) r -> {
                    String problem = FeatureColumns.nonFinite(r.getFeatures(), column);
                    if (problem != null) {
                        throw new IllegalArgumentException(IngestJob.ROW_ERROR + problem + ": row id " + r.getIdText());
                    }
                    t.applyInPlace(r.getFeatures());
                    return r;
                }, bean).toDF().select(TransferSchema.ID, TransferSchema.FEATURES, TransferSchema.LABEL, "split");
    }

    @Override
    public void close() {
        keys.close();
        broadcasts.forEach(b -> b.destroy());
    }
}
