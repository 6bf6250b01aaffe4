package dev.gemmaflink.runtime.weights;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.weights.TensorKind.Group;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Every tensor a Gemma 3 checkpoint must hold for one configuration: the {@link TensorKind}s expanded over the text
 * layers and, when the configuration has a vision tower, the vision layers. The single source of which tensors
 * exist, their names and their shapes, for the loader's checks ({@link GemmaWeights#open}), the tiny checkpoint
 * writer and the weight upload of the TorchScript modules.
 *
 * <p>Order: {@link #text()} lists the text checkpoint tensors (every decoder layer's kinds in declaration order,
 * then the token embedding and the final norm); {@link #vision()} the image encoder's weight list (embeddings, every
 * encoder layer, then the final LayerNorm and the projector). {@link TensorSlot#index()} is the position in that list.
 * The text model's weight list is {@link #textModule()}: the text tensors joined at upload ({@link FusedKind}).
 *
 * <pre>{@code
 * TensorTable t = TensorTable.of(cfg);
 * TensorSlot q = t.get(TensorKind.ATTN_Q, 5);   // layers.5.self_attn.q_proj.weight, [heads * headDim, hidden]
 * }</pre>
 */
public final class TensorTable {
    private final GemmaConfig config;
    private final List<TensorSlot> text;
    private final List<TensorSlot> vision;
    private final Map<TensorKind, List<TensorSlot>> byKind; // per-layer kinds: indexed by layer
    private final List<FusedSlot> textModule;

    private TensorTable(GemmaConfig config) {
        this.config = config;
        this.byKind = new EnumMap<>(TensorKind.class);
        List<TensorSlot> t = new ArrayList<>();
        addLayers(t, Group.TEXT_LAYER, config.numHiddenLayers());
        addOnce(t, Group.TEXT);
        this.text = Collections.unmodifiableList(t);
        List<FusedSlot> m = new ArrayList<>();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            for (FusedKind k : FusedKind.kinds(true)) {
                m.add(fused(k, i, m.size()));
            }
        }
        for (FusedKind k : FusedKind.kinds(false)) {
            m.add(fused(k, TensorSlot.NO_LAYER, m.size()));
        }
        this.textModule = Collections.unmodifiableList(m);
        List<TensorSlot> v = new ArrayList<>();
        config.vision().ifPresent(vc -> {
            addOnce(v, Group.VISION_EMBEDDINGS);
            addLayers(v, Group.VISION_LAYER, vc.numHiddenLayers());
            addOnce(v, Group.VISION_OUTPUT);
        });
        this.vision = Collections.unmodifiableList(v);
    }

    /** @return the table of {@code config}: text tensors always, vision tensors when it has a vision_config */
    public static TensorTable of(GemmaConfig config) {
        return new TensorTable(config);
    }

    private FusedSlot fused(FusedKind kind, int layer, int index) {
        List<TensorSlot> parts = new ArrayList<>();
        for (TensorKind k : kind.parts()) {
            parts.add(layer == TensorSlot.NO_LAYER ? get(k) : get(k, layer));
        }
        return new FusedSlot(kind, layer, parts, index);
    }

    private void addOnce(List<TensorSlot> list, Group group) {
        for (TensorKind k : group.kinds()) {
            add(list, k, TensorSlot.NO_LAYER, k.canonicalName());
        }
    }

    private void addLayers(List<TensorSlot> list, Group group, int layers) {
        List<TensorKind> kinds = group.kinds();
        for (int i = 0; i < layers; i++) {
            for (TensorKind k : kinds) {
                add(list, k, i, k.canonicalName(i));
            }
        }
    }

    private void add(List<TensorSlot> list, TensorKind kind, int layer, String name) {
        TensorSlot s = new TensorSlot(kind, layer, name, kind.shape(config), list.size());
        list.add(s);
        byKind.computeIfAbsent(kind, k -> new ArrayList<>()).add(s);
    }

    /** @return the configuration the table was built for */
    public GemmaConfig config() {
        return config;
    }

    /** @return the text model's tensors, in its weight-list order */
    public List<TensorSlot> text() {
        return text;
    }

    /** @return the text model's weight list: checkpoint tensors joined per {@link FusedKind}, every layer then the rest */
    public List<FusedSlot> textModule() {
        return textModule;
    }

    /** @return the position of {@code kind} (a once-only kind) in {@link #textModule()} */
    public int textModuleIndex(FusedKind kind) {
        if (kind.isPerLayer()) {
            throw new IllegalArgumentException(kind + " exists once per layer: name the layer");
        }
        return config.numHiddenLayers() * FusedKind.kinds(true).size() + kind.indexInGroup();
    }

    /** @return the position of decoder layer {@code layer}'s first entry in {@link #textModule()} */
    public int textModuleLayerStart(int layer) {
        return layer * FusedKind.kinds(true).size();
    }

    /** @return the vision tower's and projector's tensors in the image encoder's weight-list order; empty without */
    public List<TensorSlot> vision() {
        return vision;
    }

    /** @return text then vision tensors */
    public List<TensorSlot> all() {
        List<TensorSlot> out = new ArrayList<>(text.size() + vision.size());
        out.addAll(text);
        out.addAll(vision);
        return Collections.unmodifiableList(out);
    }

    /**
     * @param kind a kind that exists once
     * @return its slot
     * @throws IllegalArgumentException for a per-layer kind, or a vision kind without a vision tower
     */
    public TensorSlot get(TensorKind kind) {
        if (kind.isPerLayer()) {
            throw new IllegalArgumentException(kind + " exists once per layer: name the layer");
        }
        return slots(kind).get(0);
    }

    /**
     * @param kind  a per-layer kind
     * @param layer text or vision layer index, after the kind's group
     * @return the slot of that layer's tensor
     * @throws IllegalArgumentException for a kind that exists once, or a vision kind without a vision tower
     * @throws IndexOutOfBoundsException when the layer does not exist
     */
    public TensorSlot get(TensorKind kind, int layer) {
        if (!kind.isPerLayer()) {
            throw new IllegalArgumentException(kind + " exists once, not per layer");
        }
        List<TensorSlot> layers = slots(kind);
        if (layer < 0 || layer >= layers.size()) {
            throw new IndexOutOfBoundsException("layer " + layer + " of " + layers.size() + " for " + kind);
        }
        return layers.get(layer);
    }

    /**
     * The position of a layer's first tensor in its list ({@link #text()} or {@link #vision()}): kind {@code k} of
     * that layer sits at {@code layerStart + k.indexInGroup()}, the offsets the image encoder's per-layer method reads
     * its weights at (the text model's are {@link #textModuleLayerStart}).
     */
    public int layerStart(Group group, int layer) {
        if (!group.isPerLayer()) {
            throw new IllegalArgumentException(group + " is not a per-layer group");
        }
        return get(group.kinds().get(0), layer).index();
    }

    private List<TensorSlot> slots(TensorKind kind) {
        List<TensorSlot> s = byKind.get(kind);
        if (s == null) {
            throw new IllegalArgumentException("the configuration has no " + kind + " tensor: it has no vision_config");
        }
        return s;
    }
}
