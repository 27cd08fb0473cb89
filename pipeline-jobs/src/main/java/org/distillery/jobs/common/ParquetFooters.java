package org.distillery.jobs.common;

import java.io.IOException;
import java.util.Arrays;
import java.util.Comparator;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.schema.MessageType;
import org.apache.spark.sql.execution.datasources.parquet.ParquetToSparkSchemaConverter;
import org.apache.spark.sql.types.StructType;

/**
 * A Parquet directory's schema read from one data file's footer, without a SparkSession (what Spark itself does
 * without schema merging). Dry runs and every read check columns this way before any row is touched.
 */
final class ParquetFooters {
    private ParquetFooters() {
    }

    static StructType schema(Storage storage, String dir) {
        FileSystem fs = storage.fs(dir);
        FileStatus first;
        try {
            first = Arrays.stream(fs.listStatus(new Path(dir)))
                    .filter(f -> f.isFile() && !f.getPath().getName().startsWith("_")
                            && !f.getPath().getName().startsWith(".")
                            && f.getPath().getName().endsWith(".parquet"))
                    .min(Comparator.comparing(f -> f.getPath().getName()))
                    .orElseThrow(() -> new IllegalArgumentException("no Parquet data files in " + dir));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        MessageType footer;
        try (ParquetFileReader reader = ParquetFileReader.open(
                HadoopInputFile.fromStatus(first, fs.getConf()))) {
            footer = reader.getFooter().getFileMetaData().getSchema();
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("corrupt Parquet input " + first.getPath() + ": "
                    + String.valueOf(e.getMessage()).lines().findFirst().orElse(""), e);
        }
        // Spark's defaults: binary is not string, INT96 is a timestamp, case-insensitive, no TIMESTAMP_NTZ inference,
        // nanosecond timestamps not read as long
        return new ParquetToSparkSchemaConverter(false, true, false, false, false).convert(footer);
    }
}
