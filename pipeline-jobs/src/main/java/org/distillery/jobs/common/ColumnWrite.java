package org.distillery.jobs.common;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.ColumnWriteStore;
import org.apache.parquet.column.ColumnWriter;
import org.apache.parquet.column.ParquetProperties;
import org.apache.parquet.hadoop.CodecFactory;
import org.apache.parquet.hadoop.ColumnChunkPageWriteStore;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetOutputFormat;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.util.HadoopOutputFile;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.PositionOutputStream;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.XXH64;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.execution.LogicalRDD;
import org.apache.spark.sql.execution.datasources.parquet.SparkToParquetSchemaConverter;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.util.SerializableConfiguration;

/**
 * Parquet written by each task straight into parquet-mr's column writers, and the write's content summary computed in
 * the same pass: the files Spark's own Parquet writer makes for the same rows (its schema conversion, its footer
 * metadata, the same codec, page and row-group sizes and dictionary choices), without its per-value record assembly
 * (Spark's write support, parquet-mr's {@code MessageColumnIO}) or a generated projection hashing each row again
 * (docs/PERFORMANCE.md, label job: writing the soft targets). For flat tables of long, int, float and binary columns
 * and arrays of them without null elements, the soft-target tables, in Spark's standard Parquet layout; {@link
 * #unsupported} says why anything else is left to Spark's writer. Writer settings come from the Hadoop configuration
 * as parquet-mr's output format reads them, per-column ones only for the dictionary.
 *
 * <p>Each task attempt writes a hidden file under {@code _attempts} and renames it to its partition's part file when
 * done, so a failed attempt leaves nothing a reader of the directory sees; the driver removes {@code _attempts} after
 * the job. Partition 0 writes a file even when it has no rows (the schema), as Spark's writer does.
 */
final class ColumnWrite {
    /** Spark's footer key for the table's schema as JSON (ParquetReadSupport.SPARK_METADATA_KEY). */
    static final String SPARK_SCHEMA_KEY = "org.apache.spark.sql.parquet.row.metadata";
    /** Spark's footer key for the version that wrote the file. */
    static final String SPARK_VERSION_KEY = "org.apache.spark.version";
    /** Where attempts write before their file is renamed into place (hidden from readers by its leading '_'). */
    static final String ATTEMPTS = "_attempts";
    /** The seed of Spark's {@code xxhash64} function. */
    private static final long SEED = 42;
    /** Rows between checks of the row group's buffered size. */
    private static final int ROW_GROUP_CHECK = 128;

    private ColumnWrite() {
    }

    /** Null when {@code schema} can be written here, else why not (logged as the reason for Spark's writer). */
    static String unsupported(SparkSession spark, StructType schema) {
        if (spark.sessionState().conf().writeLegacyParquetFormat()) {
            return "spark.sql.parquet.writeLegacyFormat is set";
        }
        return unsupported(schema);
    }

    /** {@link #unsupported(SparkSession, StructType)} for the schema alone. */
    static String unsupported(StructType schema) {
        for (StructField f : schema.fields()) {
            DataType t = f.dataType();
            if (t instanceof ArrayType a) {
                if (a.containsNull()) {
                    return "column " + f.name() + " is an array that may hold nulls";
                }
                t = a.elementType();
            }
            if (!primitive(t)) {
                return "column " + f.name() + " is of type " + f.dataType().simpleString();
            }
        }
        return null;
    }

    private static boolean primitive(DataType t) {
        return t instanceof LongType || t instanceof IntegerType || t instanceof FloatType || t instanceof BinaryType;
    }

    /**
     * Writes {@code rows} as Parquet part files under {@code path} (which must not exist), the columns in
     * {@code plain} without dictionary encoding, and returns the content summary Spark's {@code xxhash64} aggregates
     * would give for them: (rows, then the sums of each row hash's bits 0-21, 22-43 and 44-63).
     */
    static Row write(Dataset<Row> rows, String path, Set<String> plain) {
        SparkSession spark = rows.sparkSession();
        if (spark.sessionState().conf().writeLegacyParquetFormat()) {
            throw new UnsupportedOperationException("internal error: ColumnWrite does not write Spark's legacy Parquet"
                    + " format; check unsupported(session, schema) first");
        }
        StructType schema = rows.schema();
        Configuration conf = spark.sessionState().newHadoopConf();
        Path dir = new Path(path);
        try {
            FileSystem fs = dir.getFileSystem(conf);
            if (fs.exists(dir)) {
                throw new IOException("the write's directory exists already: " + dir);
            }
            MessageType message = new SparkToParquetSchemaConverter(spark.sessionState().conf()).convert(schema);
            Spec spec = new Spec(fs.makeQualified(dir).toString(), java.util.UUID.randomUUID().toString(),
                    schema, message.toString(), codec(spark.conf().get("spark.sql.parquet.compression.codec")),
                    Map.of(SPARK_VERSION_KEY, org.apache.spark.package$.MODULE$.SPARK_VERSION_SHORT(),
                            SPARK_SCHEMA_KEY, schema.json()), Set.copyOf(plain));
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            JavaRDD<InternalRow> internal = internalRows(rows);
            if (internal.getNumPartitions() == 0) {
                internal = jsc.parallelize(List.<InternalRow>of(), 1);
            }
            Broadcast<SerializableConfiguration> c = jsc.broadcast(new SerializableConfiguration(conf));
            List<long[]> done;
            try {
                done = internal.mapPartitions(it -> List.of(spec.task(c.value().value(), it)).iterator()).collect();
            } finally {
                fs.delete(new Path(dir, ATTEMPTS), true);
                c.destroy();
            }
            long[] sum = new long[1 + TransferTables.SUM_SLICES];
            for (long[] d : done) {
                for (int k = 0; k < sum.length; k++) {
                    sum[k] += d[k];
                }
            }
            return RowFactory.create(java.util.Arrays.stream(sum).boxed().toArray());
        } catch (IOException e) {
            throw new UncheckedIOException("writing Parquet to " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The rows as Spark's internal rows: for a Dataset made straight from an RDD of internal rows (the label job's
     * soft targets, {@code createDataFrame} of an RDD of rows; its schema is that plan's), that RDD's rows as made,
     * which the tasks read once each; otherwise the rows of its physical plan. The plan's rows of such a Dataset are
     * the same values copied once more, row by row, into Spark's unsafe rows.
     */
    static JavaRDD<InternalRow> internalRows(Dataset<Row> rows) {
        if (rows.queryExecution().analyzed() instanceof LogicalRDD made) {
            return made.rdd().toJavaRDD();
        }
        return rows.queryExecution().toRdd().toJavaRDD();
    }

    /** parquet-mr's codec for Spark's {@code spark.sql.parquet.compression.codec} value. */
    static CompressionCodecName codec(String spark) {
        String name = spark.toUpperCase(java.util.Locale.ROOT);
        return CompressionCodecName.valueOf(name.equals("NONE") ? "UNCOMPRESSED" : name);
    }

    /** What every task needs: where, the schema both ways, the codec, the footer metadata and the plain columns. */
    record Spec(String dir, String uuid, StructType schema, String message, CompressionCodecName codec,
                Map<String, String> metadata, Set<String> plain) implements Serializable {

        /** Writes one partition's rows and returns (rows, the three hash slice sums). */
        long[] task(Configuration conf, Iterator<InternalRow> rows) throws IOException {
            TaskContext ctx = TaskContext.get();
            int partition = ctx == null ? 0 : ctx.partitionId();
            long[] out = new long[1 + TransferTables.SUM_SLICES];
            if (partition != 0 && !rows.hasNext()) {
                return out; // no file for an empty partition, as Spark's writer
            }
            String name = String.format("part-%05d-%s-c000%s.parquet", partition, uuid, codec.getExtension());
            Path tmp = new Path(dir, ATTEMPTS + "/" + (ctx == null ? 0 : ctx.taskAttemptId()) + "-" + name);
            Path target = new Path(dir, name);
            FileSystem fs = target.getFileSystem(conf);
            Sink sink = new Sink(conf, tmp, MessageTypeParser.parseMessageType(message), this);
            boolean ok = false;
            try {
                sink.writeAll(rows, out);
                sink.close(metadata);
                ok = true;
            } finally {
                if (!ok) {
                    sink.abort();
                    fs.delete(tmp, false);
                }
            }
            if (fs.exists(target)) {
                fs.delete(target, false); // another attempt of this partition finished first: the same rows
            }
            if (!fs.rename(tmp, target)) {
                throw new IOException("could not rename " + tmp + " to " + target);
            }
            if (ctx != null) {
                ctx.taskMetrics().outputMetrics().setRecordsWritten(out[0]);
                ctx.taskMetrics().outputMetrics().setBytesWritten(fs.getFileStatus(target).getLen());
            }
            return out;
        }
    }

    /** One file: its column writers, row groups flushed at the configured block size. */
    private static final class Sink {
        private final MessageType message;
        private final StructType schema;
        private final ParquetProperties props;
        private final ParquetFileWriter file;
        private final Opened output;
        private final CodecFactory codecs;
        private final CodecFactory.BytesCompressor compressor;
        private final long blockSize;
        private final ColumnDescriptor[] columns;
        private final Kind[] kinds;
        private final boolean[] nullable;
        /** Each column's definition level of a value, or of an array that is there (its elements one deeper). */
        private final int[] present;
        private ColumnChunkPageWriteStore pages;
        private ColumnWriteStore store;
        private ColumnWriter[] writers;
        private long inGroup;
        private int group;

        Sink(Configuration conf, Path path, MessageType message, Spec spec) throws IOException {
            this.message = message;
            this.schema = spec.schema();
            List<ColumnDescriptor> cols = message.getColumns();
            StructField[] fields = schema.fields();
            if (cols.size() != fields.length) {
                throw new IOException("internal error: " + cols.size() + " Parquet columns for " + fields.length
                        + " fields");
            }
            this.columns = cols.toArray(ColumnDescriptor[]::new);
            this.kinds = new Kind[fields.length];
            this.nullable = new boolean[fields.length];
            this.present = new int[fields.length];
            ParquetProperties.Builder b = ParquetProperties.builder()
                    .withPageSize(ParquetOutputFormat.getPageSize(conf))
                    .withDictionaryPageSize(ParquetOutputFormat.getDictionaryPageSize(conf))
                    .withDictionaryEncoding(ParquetOutputFormat.getEnableDictionary(conf))
                    .withWriterVersion(ParquetOutputFormat.getWriterVersion(conf))
                    .withPageWriteChecksumEnabled(ParquetOutputFormat.getPageWriteChecksumEnabled(conf))
                    .estimateRowCountForPageSizeCheck(ParquetOutputFormat.getEstimatePageSizeCheck(conf))
                    .withMinRowCountForPageSizeCheck(ParquetOutputFormat.getMinRowCountForPageSizeCheck(conf))
                    .withMaxRowCountForPageSizeCheck(ParquetOutputFormat.getMaxRowCountForPageSizeCheck(conf))
                    .withPageRowCountLimit(conf.getInt(ParquetOutputFormat.PAGE_ROW_COUNT_LIMIT,
                            ParquetProperties.DEFAULT_PAGE_ROW_COUNT_LIMIT))
                    .withColumnIndexTruncateLength(conf.getInt(ParquetOutputFormat.COLUMN_INDEX_TRUNCATE_LENGTH,
                            ParquetProperties.DEFAULT_COLUMN_INDEX_TRUNCATE_LENGTH))
                    .withStatisticsTruncateLength(conf.getInt(ParquetOutputFormat.STATISTICS_TRUNCATE_LENGTH,
                            ParquetProperties.DEFAULT_STATISTICS_TRUNCATE_LENGTH))
                    .withBloomFilterEnabled(ParquetOutputFormat.getBloomFilterEnabled(conf))
                    .withMaxBloomFilterBytes(ParquetOutputFormat.getBloomFilterMaxBytes(conf));
            for (int i = 0; i < fields.length; i++) {
                kinds[i] = Kind.of(fields[i].dataType());
                nullable[i] = fields[i].nullable();
                present[i] = columns[i].getMaxDefinitionLevel() - (fields[i].dataType() instanceof ArrayType ? 1 : 0);
                String dotted = String.join(".", columns[i].getPath());
                if (spec.plain().contains(dotted)) {
                    b.withDictionaryEncoding(dotted, false);
                }
            }
            this.props = b.build();
            this.blockSize = ParquetOutputFormat.getLongBlockSize(conf);
            this.output = new Opened(HadoopOutputFile.fromPath(path, conf));
            this.file = new ParquetFileWriter(output, message,
                    ParquetFileWriter.Mode.CREATE, blockSize, conf.getInt(ParquetOutputFormat.MAX_PADDING_BYTES,
                    ParquetWriter.MAX_PADDING_SIZE_DEFAULT), props.getColumnIndexTruncateLength(),
                    props.getStatisticsTruncateLength(), props.getPageWriteChecksumEnabled());
            this.codecs = new CodecFactory(conf, props.getPageSizeThreshold());
            this.compressor = codecs.getCompressor(spec.codec());
            file.start();
            open();
        }

        private void open() {
            pages = new ColumnChunkPageWriteStore(compressor, message, props.getAllocator(),
                    props.getColumnIndexTruncateLength(), props.getPageWriteChecksumEnabled(), null, group);
            store = props.newColumnWriteStore(message, pages, pages);
            writers = new ColumnWriter[columns.length];
            for (int i = 0; i < columns.length; i++) {
                writers[i] = store.getColumnWriter(columns[i]);
            }
        }

        private void flushGroup() throws IOException {
            if (inGroup > 0) {
                file.startBlock(inGroup);
                store.flush();
                pages.flushToFileWriter(file);
                file.endBlock();
                group++;
                inGroup = 0;
            }
            store.close();
        }

        void writeAll(Iterator<InternalRow> rows, long[] out) throws IOException {
            long count = 0;
            while (rows.hasNext()) {
                InternalRow row = rows.next();
                long h = SEED;
                for (int i = 0; i < writers.length; i++) {
                    h = write(row, i, h);
                }
                store.endRecord();
                count++;
                for (int k = 0; k < TransferTables.SUM_SLICES; k++) { // the slices of TransferTables.summary
                    out[1 + k] += (h >>> (TransferTables.SLICE_BITS * k)) & TransferTables.SLICE_MASK;
                }
                if (++inGroup % ROW_GROUP_CHECK == 0 && store.getBufferedSize() >= blockSize) {
                    flushGroup();
                    open();
                }
            }
            out[0] = count;
        }

        /** Writes column {@code i} of {@code row} and returns the row's hash so far with it ({@code xxhash64}). */
        private long write(InternalRow row, int i, long h) {
            ColumnWriter w = writers[i];
            int present = this.present[i];
            if (row.isNullAt(i)) {
                if (!nullable[i]) {
                    throw new RuntimeException("internal error: null in the non-null column "
                            + schema.fields()[i].name());
                }
                w.writeNull(0, 0);
                return h;
            }
            switch (kinds[i]) {
                case LONG -> {
                    long v = row.getLong(i);
                    w.write(v, 0, present);
                    return XXH64.hashLong(v, h);
                }
                case INT -> {
                    int v = row.getInt(i);
                    w.write(v, 0, present);
                    return XXH64.hashInt(v, h);
                }
                case FLOAT -> {
                    float v = row.getFloat(i);
                    w.write(v, 0, present);
                    return hashFloat(v, h);
                }
                case BINARY -> {
                    byte[] v = row.getBinary(i);
                    w.write(Binary.fromConstantByteArray(v), 0, present);
                    return XXH64.hashUnsafeBytes(v, Platform.BYTE_ARRAY_OFFSET, v.length, h);
                }
                default -> {
                    return writeArray(w, row.getArray(i), kinds[i], present, h);
                }
            }
        }

        private static long writeArray(ColumnWriter w, ArrayData a, Kind kind, int present, long h) {
            int n = a.numElements();
            if (n == 0) {
                w.writeNull(0, present);
                return h;
            }
            int d = present + 1;
            for (int j = 0; j < n; j++) {
                int r = j == 0 ? 0 : 1; // a new row, or the same row's list
                switch (kind) {
                    case LONG_ARRAY -> {
                        long v = a.getLong(j);
                        w.write(v, r, d);
                        h = XXH64.hashLong(v, h);
                    }
                    case INT_ARRAY -> {
                        int v = a.getInt(j);
                        w.write(v, r, d);
                        h = XXH64.hashInt(v, h);
                    }
                    case FLOAT_ARRAY -> {
                        float v = a.getFloat(j);
                        w.write(v, r, d);
                        h = hashFloat(v, h);
                    }
                    default -> {
                        byte[] v = a.getBinary(j);
                        w.write(Binary.fromConstantByteArray(v), r, d);
                        h = XXH64.hashUnsafeBytes(v, Platform.BYTE_ARRAY_OFFSET, v.length, h);
                    }
                }
            }
            return h;
        }

        /** Spark's hash of a float: -0.0 as 0.0, then its bits. */
        private static long hashFloat(float v, long h) {
            return XXH64.hashInt(v == -0.0f ? 0 : Float.floatToIntBits(v), h);
        }

        void close(Map<String, String> metadata) throws IOException {
            flushGroup();
            file.end(new java.util.HashMap<>(metadata)); // in the order parquet-mr's record writer gives them
            codecs.release();
        }

        /** Closes what a failed attempt left open: its file's stream (parquet-mr's file writer cannot), codecs. */
        void abort() {
            try {
                store.close();
                codecs.release();
                output.close();
            } catch (IOException | RuntimeException e) {
                // the attempt failed already; its file is deleted next
            }
        }
    }

    /** An output file that keeps the stream it opened, so that an attempt that fails can close it. */
    private static final class Opened implements OutputFile {
        private final OutputFile file;
        private PositionOutputStream stream;

        Opened(OutputFile file) {
            this.file = file;
        }

        @Override
        public PositionOutputStream create(long blockSizeHint) throws IOException {
            stream = file.create(blockSizeHint);
            return stream;
        }

        @Override
        public PositionOutputStream createOrOverwrite(long blockSizeHint) throws IOException {
            stream = file.createOrOverwrite(blockSizeHint);
            return stream;
        }

        @Override
        public boolean supportsBlockSize() {
            return file.supportsBlockSize();
        }

        @Override
        public long defaultBlockSize() {
            return file.defaultBlockSize();
        }

        @Override
        public String getPath() {
            return file.getPath();
        }

        void close() throws IOException {
            if (stream != null) {
                stream.close();
            }
        }
    }

    /** How a column is written and hashed. */
    private enum Kind {
        LONG, INT, FLOAT, BINARY, LONG_ARRAY, INT_ARRAY, FLOAT_ARRAY, BINARY_ARRAY;

        static Kind of(DataType t) {
            if (t instanceof ArrayType a) {
                return values()[of(a.elementType()).ordinal() + 4];
            }
            if (t instanceof LongType) {
                return LONG;
            }
            if (t instanceof IntegerType) {
                return INT;
            }
            return t instanceof FloatType ? FLOAT : BINARY;
        }
    }

}
