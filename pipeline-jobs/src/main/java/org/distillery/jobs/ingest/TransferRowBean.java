package org.distillery.jobs.ingest;

import java.io.Serializable;

/**
 * One transfer row as a Java bean, so that ingest transforms features with {@link
 * org.distillery.model.schema.FeatureTransform#applyInPlace} in a typed map: Spark's bean encoder moves a float array
 * in and out of its rows without boxing each value, which a UDF or a higher-order function over the array does not.
 * Public (with a no-argument constructor, getters and setters) because Spark's generated code builds it.
 */
public final class TransferRowBean implements Serializable {
    private static final long serialVersionUID = 1L;
    private long id;
    private float[] features;
    private Integer label;
    private String split;
    private String idText;

    public TransferRowBean() {
    }

    public long getId() {
        return id;
    }

    public void setId(long id) {
        this.id = id;
    }

    public float[] getFeatures() {
        return features;
    }

    public void setFeatures(float[] features) {
        this.features = features;
    }

    public Integer getLabel() {
        return label;
    }

    public void setLabel(Integer label) {
        this.label = label;
    }

    public String getSplit() {
        return split;
    }

    public void setSplit(String split) {
        this.split = split;
    }

    /** The row id as messages name it (the source's value), for a row's error. */
    public String getIdText() {
        return idText;
    }

    public void setIdText(String idText) {
        this.idText = idText;
    }
}
