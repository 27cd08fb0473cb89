package org.distillery.jobs.common;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.schema.MessageType;
import org.apache.spark.sql.execution.datasources.parquet.ParquetToSparkSchemaConverter;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;

/**
 * A Parquet table's schema (and row count) read from its data files' footers, without a SparkSession. Every file's
 * footer is read (footers are small): a table whose part files disagree is refused before any row is touched, where
 * Spark, which takes the schema of one file, would fail or misread mid-job. Dry runs and every read check columns
 * this way.
 */
final class ParquetFooters {
    private ParquetFooters() {
    }

    /**
     * The schema shared by {@code files} (full paths), or by every Parquet file in {@code dir} when {@code files} is
     * null (outputs whose manifest lists no files).
     *
     * @throws IllegalArgumentException naming the table when it has no data file, a footer is unreadable, or two part
     *                                  files disagree
     */
    static StructType schema(Storage storage, String dir, Collection<String> files) {
        List<String> paths = files != null ? new ArrayList<>(files) : list(storage, dir);
        if (paths.isEmpty()) {
            throw new IllegalArgumentException("no Parquet data files in " + dir);
        }
        StructType first = null;
        String firstPath = null;
        for (String path : paths) {
            StructType schema = footer(storage, path);
            if (first == null) {
                first = schema;
                firstPath = path;
            } else if (!DataType.equalsIgnoreNullability(first, schema)) {
                throw new IllegalArgumentException("part files of " + dir + " disagree on their schema: "
                        + name(firstPath) + " has " + first.simpleString() + ", " + name(path) + " has "
                        + schema.simpleString());
            }
        }
        return first;
    }

    /**
     * The rows of every Parquet file in {@code dir}, summed from their footers' row-group counts: what a Spark count
     * of the directory returns, without scheduling a job.
     */
    static long rows(Storage storage, String dir) {
        long rows = 0;
        for (String path : list(storage, dir)) {
            FileSystem fs = storage.fs(path);
            try {
                FileStatus status = fs.getFileStatus(new Path(path));
                try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromStatus(status, fs.getConf()))) {
                    rows += r.getRecordCount();
                }
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException("corrupt Parquet output " + path + ": "
                        + String.valueOf(e.getMessage()).lines().findFirst().orElse(""), e);
            }
        }
        return rows;
    }

    private static String name(String path) {
        return new Path(path).getName();
    }

    private static List<String> list(Storage storage, String dir) {
        FileSystem fs = storage.fs(dir);
        try {
            return Arrays.stream(fs.listStatus(new Path(dir)))
                    .filter(f -> f.isFile() && !f.getPath().getName().startsWith("_")
                            && !f.getPath().getName().startsWith(".")
                            && f.getPath().getName().endsWith(".parquet"))
                    .map(f -> f.getPath().toString()).sorted().toList();
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    private static StructType footer(Storage storage, String path) {
        FileSystem fs = storage.fs(path);
        MessageType footer;
        try {
            FileStatus status = fs.getFileStatus(new Path(path));
            try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromStatus(status, fs.getConf()))) {
                footer = reader.getFooter().getFileMetaData().getSchema();
            }
        } catch (java.io.FileNotFoundException e) {
            throw new IllegalArgumentException("Parquet data file missing: " + path, e);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("corrupt Parquet input " + path + ": "
                    + String.valueOf(e.getMessage()).lines().findFirst().orElse(""), e);
        }
        // Spark's defaults: binary is not string, INT96 is a timestamp, case-insensitive, no TIMESTAMP_NTZ inference,
        // nanosecond timestamps not read as long
        return new ParquetToSparkSchemaConverter(false, true, false, false, false).convert(footer);
    }
}
