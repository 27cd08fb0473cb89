package org.distillery.jobs.label;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.HadoopReadOptions;
import org.apache.parquet.VersionParser;
import org.apache.parquet.bytes.BytesUtils;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.column.impl.ColumnReaderImpl;
import org.apache.parquet.column.page.DataPage;
import org.apache.parquet.column.page.DataPageV1;
import org.apache.parquet.column.page.DataPageV2;
import org.apache.parquet.column.page.DictionaryPage;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.column.page.PageReader;
import org.apache.parquet.column.values.bitpacking.BytePacker;
import org.apache.parquet.column.values.bitpacking.Packer;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.hadoop.metadata.ParquetMetadata;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.io.api.PrimitiveConverter;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.execution.datasources.FilePartition;
import org.apache.spark.util.SerializableConfiguration;
import org.distillery.jobs.common.InputHash;
import org.distillery.model.schema.TransferSchema;
import scala.Tuple2;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag$;

/**
 * The label job's page reader: the transfer rows of {@link SlicedScan}'s partitions read straight from the Parquet
 * files' pages, each row's features decoded from its dictionary ids (or plain floats) into the teacher's batch buffer,
 * then checked and hashed there. Spark's vectorized reader decodes a column batch of ids, then one of floats, then the
 * job copies each row out of it; here one loop per row writes the floats where the teacher reads them, and the JIT
 * compiles our two loops instead of Spark's and parquet-mr's call chains (docs/PERFORMANCE.md, "Label job").
 *
 * <p>It takes the layout Spark's Parquet writer, pyarrow and others give a list of floats (3 levels; the list and its
 * elements optional or required), in data pages of either version, with PLAIN or dictionary-encoded values and RLE
 * levels, any codec parquet-mr reads; ids and labels go through parquet-mr's column reader. Before the job starts,
 * {@link #over} checks every file's footer (read once, by {@link SlicedScan}'s plan) and refuses, with the file and
 * the reason, anything else (other encodings or types, encrypted columns, a missing column): the job then reads
 * Spark's column batches. Rows whose features are null, of another width or not finite fail with the messages the
 * other paths give.
 */
final class PageScan {
    /** Spark configuration key: false reads the transfer set's column batches through Spark's reader. */
    static final String ENABLED = "spark.distillery.label.pageReader";
    private static final Set<Encoding> FEATURE_ENCODINGS = EnumSet.of(Encoding.PLAIN, Encoding.PLAIN_DICTIONARY,
            Encoding.RLE_DICTIONARY, Encoding.RLE);

    /** Rows [from, to) of the file at {@code path}. */
    record Piece(String path, long from, long to) implements Serializable {
    }

    /** One task's pieces, in order. */
    record Task(List<Piece> pieces) implements Serializable {
    }

    private final org.apache.spark.SparkContext sc;
    private final List<Task> tasks;
    private final List<List<String>> locations;
    private final Configuration conf;

    private PageScan(org.apache.spark.SparkContext sc, List<Task> tasks, List<List<String>> locations,
                     Configuration conf) {
        this.sc = sc;
        this.tasks = tasks;
        this.locations = locations;
        this.conf = conf;
    }

    /**
     * The page reader over {@code sliced}'s partitions, each of whose parent partitions is one whole file; or null
     * with {@code why[0]} set when a file's footer (as {@code sliced}'s plan read it) shows a layout it does not read.
     */
    static PageScan over(SlicedScan sliced, Configuration conf, String[] why) {
        org.apache.spark.Partition[] files = sliced.files();
        ParquetMetadata[] footers = sliced.footers();
        for (int i = 0; i < files.length; i++) {
            Path path = ((FilePartition) files[i]).files()[0].toPath();
            String refusal = refusal(footers[i]);
            if (refusal != null) {
                why[0] = path + ": " + refusal;
                return null;
            }
        }
        List<Task> tasks = new ArrayList<>();
        List<List<String>> locations = new ArrayList<>();
        for (SlicedScan.Piece[] part : sliced.pieces()) {
            List<Piece> pieces = new ArrayList<>();
            List<String> hosts = new ArrayList<>();
            for (SlicedScan.Piece piece : part) {
                FilePartition file = (FilePartition) files[piece.parent()];
                pieces.add(new Piece(file.files()[0].toPath().toString(), piece.from(), piece.to()));
                if (hosts.isEmpty()) {
                    hosts.addAll(java.util.Arrays.asList(file.preferredLocations()));
                }
            }
            tasks.add(new Task(List.copyOf(pieces)));
            locations.add(hosts);
        }
        return new PageScan(sliced.context(), tasks, locations, conf);
    }

    /** Why the page reader does not read a file with this footer, or null when it does. */
    static String refusal(ParquetMetadata footer) {
        MessageType schema = footer.getFileMetaData().getSchema();
        String layout = Layout.refusal(schema);
        if (layout != null) {
            return layout;
        }
        String[] features = Layout.featurePath(schema);
        for (BlockMetaData block : footer.getBlocks()) {
            for (ColumnChunkMetaData c : block.getColumns()) {
                String name = c.getPath().toArray()[0];
                if (c.isEncrypted() && (name.equals(TransferSchema.ID) || name.equals(TransferSchema.FEATURES)
                        || name.equals(TransferSchema.LABEL))) {
                    return "column " + c.getPath().toDotString() + " is encrypted";
                }
                if (java.util.Arrays.equals(c.getPath().toArray(), features)) {
                    for (Encoding e : c.getEncodings()) {
                        if (!FEATURE_ENCODINGS.contains(e)) {
                            return "the features are encoded " + e + " (the page reader takes " + FEATURE_ENCODINGS
                                    + ")";
                        }
                    }
                }
            }
        }
        return null;
    }

    /** {@code f} over each partition's rows, one task per partition, near the first file it reads. */
    <T> JavaRDD<T> map(int featureCount, org.apache.spark.api.java.function.FlatMapFunction<FeatureBatches.Rows, T> f) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(sc);
        Broadcast<SerializableConfiguration> c = jsc.broadcast(new SerializableConfiguration(conf));
        List<Tuple2<Task, scala.collection.Seq<String>>> placed = new ArrayList<>();
        for (int i = 0; i < tasks.size(); i++) {
            placed.add(new Tuple2<>(tasks.get(i), JavaConverters.asScalaBuffer(locations.get(i)).toSeq()));
        }
        JavaRDD<Task> parts = jsc.sc().makeRDD(JavaConverters.asScalaBuffer(placed).toSeq(),
                ClassTag$.MODULE$.apply(Task.class)).toJavaRDD();
        return parts.mapPartitions(it -> {
            Task task = it.next();
            Reader reader = new Reader(task, c.value().value(), featureCount);
            TaskContext context = TaskContext.get();
            if (context != null) {
                context.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> reader.close());
            }
            return f.call(reader);
        });
    }

    /** Where the three columns are in a file and how its features' levels read. */
    record Layout(ColumnDescriptor id, ColumnDescriptor features, ColumnDescriptor label, int nullDef,
                  int emptyDef) {
        /** Why the page reader does not read a file of {@code schema}, or null. */
        static String refusal(MessageType schema) {
            for (String name : new String[] {TransferSchema.ID, TransferSchema.FEATURES, TransferSchema.LABEL}) {
                if (!schema.containsField(name)) {
                    return "no column " + name;
                }
                if (schema.getType(name).isRepetition(Type.Repetition.REPEATED)) {
                    return "column " + name + " is repeated";
                }
            }
            String id = scalar(schema.getType(TransferSchema.ID), PrimitiveType.PrimitiveTypeName.INT64, 64);
            if (id != null) {
                return "column id " + id;
            }
            String label = scalar(schema.getType(TransferSchema.LABEL), PrimitiveType.PrimitiveTypeName.INT32, 32);
            if (label != null) {
                return "column label " + label;
            }
            List<ColumnDescriptor> leaves = new ArrayList<>();
            for (ColumnDescriptor c : schema.getColumns()) {
                if (c.getPath()[0].equals(TransferSchema.FEATURES)) {
                    leaves.add(c);
                }
            }
            if (leaves.size() != 1) {
                return "features have " + leaves.size() + " leaf columns";
            }
            ColumnDescriptor leaf = leaves.get(0);
            PrimitiveType p = leaf.getPrimitiveType();
            if (p.getPrimitiveTypeName() != PrimitiveType.PrimitiveTypeName.FLOAT
                    || p.getLogicalTypeAnnotation() != null) {
                return "features are " + p + ", not a list of float";
            }
            if (leaf.getMaxRepetitionLevel() != 1 || leaf.getPath().length != 3
                    || !schema.getType(leaf.getPath()[0], leaf.getPath()[1]).isRepetition(Type.Repetition.REPEATED)) {
                return "features are not a list of 3 levels (their values are " + String.join(".", leaf.getPath())
                        + ")";
            }
            return null;
        }

        private static String scalar(Type t, PrimitiveType.PrimitiveTypeName physical, int bits) {
            if (!t.isPrimitive() || t.asPrimitiveType().getPrimitiveTypeName() != physical) {
                return "is " + t + ", not " + physical;
            }
            LogicalTypeAnnotation a = t.getLogicalTypeAnnotation();
            if (a != null && !(a instanceof LogicalTypeAnnotation.IntLogicalTypeAnnotation i && i.getBitWidth() == bits
                    && i.isSigned())) {
                return "is annotated " + a;
            }
            return null;
        }

        static String[] featurePath(MessageType schema) {
            for (ColumnDescriptor c : schema.getColumns()) {
                if (c.getPath()[0].equals(TransferSchema.FEATURES)) {
                    return c.getPath();
                }
            }
            return null;
        }

        /** The layout of a file whose {@link #refusal} is null. */
        static Layout of(MessageType schema) {
            String[] path = featurePath(schema);
            ColumnDescriptor features = schema.getColumnDescription(path);
            // definition level once the features are not null, then once the list has an element
            int nullDef = schema.getMaxDefinitionLevel(path[0]);
            int emptyDef = -1;
            for (int depth = 2; depth <= path.length; depth++) {
                String[] prefix = java.util.Arrays.copyOf(path, depth);
                if (schema.getType(prefix).isRepetition(Type.Repetition.REPEATED)) {
                    emptyDef = schema.getMaxDefinitionLevel(prefix);
                    break;
                }
            }
            return new Layout(schema.getColumnDescription(new String[] {TransferSchema.ID}), features,
                    schema.getColumnDescription(new String[] {TransferSchema.LABEL}), nullDef, emptyDef);
        }
    }

    /** A task's rows: its pieces' files opened one after another, row groups outside a piece skipped. */
    static final class Reader implements FeatureBatches.Rows, AutoCloseable {
        private static final PrimitiveConverter IGNORED = new PrimitiveConverter() {
        };
        private final Iterator<Piece> pieces;
        private final Configuration conf;
        private final int featureCount;
        private ParquetFileReader file;
        private Layout layout;
        private VersionParser.ParsedVersion writer;
        private List<BlockMetaData> groups;
        private int group;           // next row group of the file
        private long groupStart;     // the file's row at which the next row group starts
        private long row;            // the file's next row
        private long to;             // the piece's end
        private long groupEnd;       // the current row group's end (file rows)
        private ColumnReaderImpl ids;
        private ColumnReaderImpl labels;
        private FeaturePages features;

        Reader(Task task, Configuration conf, int featureCount) {
            this.pieces = task.pieces().iterator();
            this.conf = conf;
            this.featureCount = featureCount;
        }

        @Override
        public boolean hasNext() {
            try {
                while (file == null || row >= to) {
                    close();
                    if (!pieces.hasNext()) {
                        return false;
                    }
                    open(pieces.next());
                }
                if (row >= groupEnd) {
                    nextGroup();
                }
                return true;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private void open(Piece piece) throws IOException {
            Path path = new Path(piece.path());
            file = ParquetFileReader.open(HadoopInputFile.fromPath(path, conf),
                    HadoopReadOptions.builder(conf, path).build());
            MessageType schema = file.getFileMetaData().getSchema();
            String refusal = Layout.refusal(schema);
            if (refusal != null) { // the file changed since the job's plan read its footer
                throw new IllegalStateException(path + " changed while being labelled: " + refusal);
            }
            layout = Layout.of(schema);
            file.setRequestedSchema(new MessageType(schema.getName(), schema.getType(TransferSchema.ID),
                    schema.getType(TransferSchema.FEATURES), schema.getType(TransferSchema.LABEL)));
            try {
                writer = VersionParser.parse(file.getFileMetaData().getCreatedBy());
            } catch (VersionParser.VersionParseException | RuntimeException e) {
                writer = null;
            }
            groups = file.getRowGroups();
            group = 0;
            groupStart = 0;
            groupEnd = 0;
            row = piece.from();
            to = piece.to();
            if (row >= to) {
                return;
            }
            nextGroup();
        }

        /** Skips the row groups before {@link #row}, reads the one holding it, and skips to that row in it. */
        private void nextGroup() throws IOException {
            while (group < groups.size() && groupStart + groups.get(group).getRowCount() <= row) {
                groupStart += groups.get(group++).getRowCount();
                file.skipNextRowGroup();
            }
            if (group >= groups.size()) {
                throw new IllegalStateException(file.getFile() + " has fewer rows than its footer said");
            }
            long rows = groups.get(group++).getRowCount();
            PageReadStore store = file.readNextRowGroup();
            ids = new ColumnReaderImpl(layout.id(), store.getPageReader(layout.id()), IGNORED, writer);
            labels = new ColumnReaderImpl(layout.label(), store.getPageReader(layout.label()), IGNORED, writer);
            features = new FeaturePages(store.getPageReader(layout.features()), layout, file.getFile());
            for (long skip = row - groupStart; skip > 0; skip--) {
                advance(ids);
                advance(labels);
                features.skipRow();
            }
            groupEnd = groupStart + rows;
            groupStart = groupEnd;
        }

        @Override
        public long id() {
            if (ids.getCurrentDefinitionLevel() < layout.id().getMaxDefinitionLevel()) {
                throw new IllegalArgumentException("id is null in row " + row + " of " + file.getFile());
            }
            return ids.getLong();
        }

        @Override
        public Integer label() {
            return labels.getCurrentDefinitionLevel() < layout.label().getMaxDefinitionLevel() ? null
                    : labels.getInteger();
        }

        @Override
        public long copyAndHash(long id, Integer label, float[] into, int offset) {
            features.row(id, into, offset, featureCount);
            advance(ids);
            advance(labels);
            row++;
            return InputHash.of(into, offset, featureCount, label);
        }

        /** Moves a scalar column's reader to the next row (its value skipped unless it was read or is null). */
        private static void advance(ColumnReaderImpl column) {
            if (column.getCurrentDefinitionLevel() == column.getDescriptor().getMaxDefinitionLevel()) {
                column.skip();
            }
            column.consume();
        }

        @Override
        public void close() {
            if (file != null) {
                try {
                    file.close();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                } finally {
                    file = null;
                }
            }
        }
    }

    /**
     * One row group's feature pages, read row by row: the repetition levels of a page give where its rows start, its
     * definition levels are checked once for a page with no null, empty or null-element row (the common case), and
     * each row's values are decoded straight into the caller's buffer. Values from a dictionary whose entries are all
     * finite need no finiteness check; PLAIN values are checked row by row.
     */
    static final class FeaturePages {
        private final PageReader pages;
        private final Object file;
        private final int maxDef;
        private final int nullDef;
        private final int emptyDef;
        private final float[] dictionary;
        private final boolean finiteDictionary; // then no value a dictionary page gives needs checking
        private boolean checked;    // the current page's values are finite by construction
        private int count;          // level entries in the current page
        private int pos;            // next entry
        private int[] starts = new int[64]; // entries of the page with repetition level 0
        private int rowStarts;
        private int next;           // index in starts of the first row start >= pos
        private byte[] defs;        // the page's definition levels, or null when all are maxDef
        private Values values;

        FeaturePages(PageReader pages, Layout layout, Object file) {
            this.pages = pages;
            this.file = file;
            this.maxDef = layout.features().getMaxDefinitionLevel();
            this.nullDef = layout.nullDef();
            this.emptyDef = layout.emptyDef();
            DictionaryPage d = pages.readDictionaryPage();
            if (d != null && d.getEncoding() != Encoding.PLAIN_DICTIONARY && d.getEncoding() != Encoding.PLAIN) {
                throw new IllegalStateException(file + ": feature dictionary encoded " + d.getEncoding());
            }
            if (d == null) {
                dictionary = null;
                finiteDictionary = false;
            } else {
                try {
                    FloatBuffer b = d.getBytes().toByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                    dictionary = new float[d.getDictionarySize()];
                    b.get(dictionary);
                    finiteDictionary = firstNonFinite(dictionary, 0, dictionary.length) < 0;
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }

        /**
         * The next row's features into {@code into} from {@code offset}, checked as {@link FeatureBatches.Cursor}
         * checks them (null, width, then the first non-finite value, a null element counting as NaN).
         */
        void row(long id, float[] into, int offset, int featureCount) {
            if (pos == count && !nextPage()) {
                throw new IllegalStateException(file + ": the features column has fewer rows than the footer says");
            }
            if (next >= rowStarts || starts[next] != pos) {
                throw new IllegalStateException(file + ": a features page starts inside a row");
            }
            int end = next + 1 < rowStarts ? starts[next + 1] : count;
            boolean check = true;
            if (defs == null && end - pos == featureCount && next + 1 < rowStarts) { // whole in the page, no nulls
                values.read(into, offset, featureCount);
                pos = end;
                next++;
                check = !checked;
            } else {
                slowRow(id, into, offset, featureCount);
            }
            int bad = check ? firstNonFinite(into, offset, featureCount) : -1;
            if (bad >= 0) {
                throw new IllegalArgumentException("non-finite feature value " + into[offset + bad] + " for id " + id);
            }
        }

        /**
         * The index of the first NaN or infinite value of {@code x[offset .. offset + n)} from {@code offset}, or -1.
         * Eight independent sums of v * 0 (NaN once a value is not finite): one sum would be a chain of 784 dependent
         * additions per row, the compiler not being free to reorder float sums.
         */
        static int firstNonFinite(float[] x, int offset, int n) {
            float a0 = 0f;
            float a1 = 0f;
            float a2 = 0f;
            float a3 = 0f;
            float a4 = 0f;
            float a5 = 0f;
            float a6 = 0f;
            float a7 = 0f;
            int j = 0;
            for (; j + 8 <= n; j += 8) {
                int o = offset + j;
                a0 += x[o] * 0f;
                a1 += x[o + 1] * 0f;
                a2 += x[o + 2] * 0f;
                a3 += x[o + 3] * 0f;
                a4 += x[o + 4] * 0f;
                a5 += x[o + 5] * 0f;
                a6 += x[o + 6] * 0f;
                a7 += x[o + 7] * 0f;
            }
            for (; j < n; j++) {
                a0 += x[offset + j] * 0f;
            }
            if (((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) == 0f) {
                return -1;
            }
            for (int k = 0; k < n; k++) {
                if (!Float.isFinite(x[offset + k])) {
                    return k;
                }
            }
            return -1;
        }

        /** Skips the next row without checking it. */
        void skipRow() {
            if (pos == count && !nextPage()) {
                throw new IllegalStateException(file + ": the features column has fewer rows than the footer says");
            }
            do {
                int end = next + 1 < rowStarts ? starts[next + 1] : count;
                values.skip(valuesIn(pos, end));
                pos = end;
                next++;
            } while (pos == count && continues());
        }

        /** Whether the row read up to the end of the page goes on in the next page (which is then current). */
        private boolean continues() {
            if (!nextPage()) {
                return false;
            }
            if (rowStarts > 0 && starts[0] == 0) {
                return false;
            }
            next = -1; // the entries before starts[0] belong to the row being read
            return true;
        }

        private int valuesIn(int from, int to) {
            if (defs == null) {
                return to - from;
            }
            int n = 0;
            for (int e = from; e < to; e++) {
                n += defs[e] == maxDef ? 1 : 0;
            }
            return n;
        }

        /** A row that spans pages, or has null or missing values, or another width. */
        private void slowRow(long id, float[] into, int offset, int featureCount) {
            int width = 0;
            boolean isNull = false;
            boolean empty = false;
            do {
                int end = next + 1 < rowStarts ? starts[next + 1] : count;
                for (int e = pos; e < end; e++) {
                    int d = defs == null ? maxDef : defs[e];
                    if (d == maxDef) {
                        if (width < featureCount) {
                            values.read(into, offset + width, 1);
                        } else {
                            values.skip(1);
                        }
                        width++;
                    } else if (d < nullDef) {
                        isNull = true;
                    } else if (d < emptyDef) {
                        empty = true;
                    } else {
                        if (width < featureCount) {
                            into[offset + width] = Float.NaN; // a null element
                        }
                        width++;
                    }
                }
                pos = end;
                next++;
            } while (pos == count && continues());
            if (isNull) {
                throw new IllegalArgumentException("features are null for id " + id);
            }
            if (empty || width != featureCount) {
                throw new IllegalArgumentException("feature length " + (empty ? 0 : width) + " != " + featureCount
                        + " for id " + id);
            }
        }

        /** Reads the next data page's levels and sets up its values; false at the end of the column chunk. */
        private boolean nextPage() {
            DataPage page = pages.readPage();
            if (page == null) {
                return false;
            }
            try {
                byte[] rep;
                byte[] def;
                int[] repBounds = new int[2];
                int[] defBounds = new int[2];
                byte[] data;
                int dataOffset;
                Encoding encoding;
                if (page instanceof DataPageV1 v1) {
                    if (v1.getRlEncoding() != Encoding.RLE || v1.getDlEncoding() != Encoding.RLE) {
                        throw new IllegalStateException(file + ": feature levels encoded " + v1.getRlEncoding() + "/"
                                + v1.getDlEncoding() + " though its footer lists only "
                                + FEATURE_ENCODINGS);
                    }
                    byte[] bytes = v1.getBytes().toByteArray();
                    int p = 0;
                    int repLength = BytesUtils.readIntLittleEndian(bytes, p);
                    repBounds[0] = p + 4;
                    repBounds[1] = p + 4 + repLength;
                    p = repBounds[1];
                    int defLength = BytesUtils.readIntLittleEndian(bytes, p);
                    defBounds[0] = p + 4;
                    defBounds[1] = p + 4 + defLength;
                    rep = bytes;
                    def = bytes;
                    data = bytes;
                    dataOffset = defBounds[1];
                    encoding = v1.getValueEncoding();
                } else {
                    DataPageV2 v2 = (DataPageV2) page;
                    rep = v2.getRepetitionLevels().toByteArray();
                    def = v2.getDefinitionLevels().toByteArray();
                    repBounds[1] = rep.length;
                    defBounds[1] = def.length;
                    data = v2.getData().toByteArray();
                    dataOffset = 0;
                    encoding = v2.getDataEncoding();
                }
                count = page.getValueCount();
                pos = 0;
                next = 0;
                rowStarts = 0;
                readStarts(rep, repBounds[0], repBounds[1]);
                defs = readDefs(def, defBounds[0], defBounds[1]);
                checked = encoding != Encoding.PLAIN && finiteDictionary;
                if (encoding == Encoding.PLAIN) {
                    values = new Plain(data, dataOffset);
                } else if (encoding == Encoding.PLAIN_DICTIONARY || encoding == Encoding.RLE_DICTIONARY) {
                    if (dictionary == null) {
                        throw new IllegalStateException(file + ": dictionary-encoded feature page without a"
                                + " dictionary");
                    }
                    values = new Ids(data, dataOffset, data.length, data[dataOffset] & 0xff, dictionary);
                } else {
                    throw new IllegalStateException(file + ": feature values encoded " + encoding
                            + " though its footer lists only " + FEATURE_ENCODINGS);
                }
                return true;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** The entries with repetition level 0 (bit width 1) into {@link #starts}. */
        private void readStarts(byte[] bytes, int from, int to) {
            Hybrid levels = new Hybrid(bytes, from, to, 1);
            int e = 0;
            while (e < count) {
                int n = Math.min(levels.nextRun(), count - e);
                if (levels.rle) {
                    if (levels.value == 0) {
                        for (int i = 0; i < n; i++) {
                            addStart(e + i);
                        }
                    }
                    e += n;
                } else {
                    for (int i = 0; i < n; i++, e++) {
                        if (levels.packed() == 0) {
                            addStart(e);
                        }
                    }
                }
            }
        }

        private void addStart(int e) {
            if (rowStarts == starts.length) {
                starts = java.util.Arrays.copyOf(starts, 2 * starts.length);
            }
            starts[rowStarts++] = e;
        }

        /** The page's definition levels, or null when every one is {@link #maxDef}. */
        private byte[] readDefs(byte[] bytes, int from, int to) {
            Hybrid levels = new Hybrid(bytes, from, to, BytesUtils.getWidthFromMaxInt(maxDef));
            byte[] out = null;
            int e = 0;
            while (e < count) {
                int n = Math.min(levels.nextRun(), count - e);
                if (levels.rle && levels.value == maxDef && out == null) {
                    e += n;
                    continue;
                }
                if (out == null) {
                    out = new byte[count];
                    java.util.Arrays.fill(out, 0, e, (byte) maxDef);
                }
                for (int i = 0; i < n; i++, e++) {
                    out[e] = (byte) (levels.rle ? levels.value : levels.packed());
                }
            }
            return out;
        }
    }

    /** A page's values, read in order. */
    private abstract static class Values {
        abstract void read(float[] out, int offset, int n);

        abstract void skip(int n);
    }

    /** PLAIN floats: little-endian, copied in bulk. */
    private static final class Plain extends Values {
        private final FloatBuffer floats;

        Plain(byte[] data, int offset) {
            floats = ByteBuffer.wrap(data, offset, data.length - offset).slice().order(ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer();
        }

        @Override
        void read(float[] out, int offset, int n) {
            floats.get(out, offset, n);
        }

        @Override
        void skip(int n) {
            floats.position(floats.position() + n);
        }
    }

    /** Dictionary ids (a bit-width byte, then RLE / bit-packed runs) looked up as they are decoded. */
    private static final class Ids extends Values {
        private final Hybrid ids;
        private final float[] dictionary;

        Ids(byte[] data, int offset, int end, int bitWidth, float[] dictionary) {
            this.ids = new Hybrid(data, offset + 1, end, bitWidth);
            this.dictionary = dictionary;
        }

        @Override
        void read(float[] out, int offset, int n) {
            Hybrid h = ids;
            float[] d = dictionary;
            while (n > 0) {
                if (h.left == 0) {
                    h.nextRun();
                }
                int k = Math.min(n, h.left);
                if (h.rle) {
                    java.util.Arrays.fill(out, offset, offset + k, d[h.value]);
                    h.left -= k;
                } else if (h.bitWidth == 8) { // a byte per id: pixel values and any dictionary of <= 256 entries
                    byte[] b = h.bytes;
                    int p = h.position;
                    for (int i = 0; i < k; i++) {
                        out[offset + i] = d[b[p + i] & 0xff];
                    }
                    h.position = p + k;
                    h.left -= k;
                } else {
                    for (int i = 0; i < k; i++) {
                        out[offset + i] = d[h.packed()]; // counts the run down
                    }
                }
                offset += k;
                n -= k;
            }
        }

        @Override
        void skip(int n) {
            Hybrid h = ids;
            while (n > 0) {
                if (h.left == 0) {
                    h.nextRun();
                }
                int k = Math.min(n, h.left);
                if (!h.rle && h.bitWidth != 8) {
                    for (int i = 0; i < k; i++) {
                        h.packed();
                    }
                } else {
                    h.position += h.rle ? 0 : k;
                    h.left -= k;
                }
                n -= k;
            }
        }
    }

    /**
     * Parquet's RLE / bit-packing hybrid encoding, run by run: an RLE run is one value repeated; a bit-packed run is
     * groups of 8 values of {@code bitWidth} bits, unpacked 8 at a time (or read as bytes by the caller at width 8).
     */
    static final class Hybrid {
        final byte[] bytes;
        final int end;
        final int bitWidth;
        private final BytePacker packer;
        private final int[] unpacked = new int[8];
        private int unpackedAt = 8;
        int position;
        int left;       // values left in the current run
        boolean rle;
        int value;      // an RLE run's value

        Hybrid(byte[] bytes, int from, int end, int bitWidth) {
            this.bytes = bytes;
            this.position = from;
            this.end = end;
            this.bitWidth = bitWidth;
            this.packer = Packer.LITTLE_ENDIAN.newBytePacker(bitWidth);
        }

        /** Starts the next run and returns its length. */
        int nextRun() {
            if (position >= end) {
                throw new IllegalStateException("RLE / bit-packed data ends before its values");
            }
            int header = 0;
            for (int shift = 0; ; shift += 7) {
                int b = bytes[position++] & 0xff;
                header |= (b & 0x7f) << shift;
                if ((b & 0x80) == 0) {
                    break;
                }
            }
            rle = (header & 1) == 0;
            if (rle) {
                left = header >>> 1;
                int v = 0;
                for (int i = 0, n = (bitWidth + 7) / 8; i < n; i++) {
                    v |= (bytes[position++] & 0xff) << (8 * i);
                }
                value = v;
            } else {
                left = (header >>> 1) * 8;
                unpackedAt = 8;
            }
            return left;
        }

        /** The next value of a bit-packed run. */
        int packed() {
            if (unpackedAt == 8) {
                packer.unpack8Values(bytes, position, unpacked, 0);
                position += bitWidth;
                unpackedAt = 0;
            }
            left--;
            return unpacked[unpackedAt++];
        }
    }
}
