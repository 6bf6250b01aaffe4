/**
 * Constrained decoding: outputs that always match a label set (one label, or a JSON array of up to N distinct labels),
 * a regular expression or a JSON Schema.
 *
 * <ul>
 *   <li>{@link dev.gemmaflink.runtime.constrain.Constraint}: what the output must be, checked when built (an
 *       unsupported JSON Schema keyword or regex construct is a
 *       {@link dev.gemmaflink.runtime.constrain.ConstraintException} naming it, never a looser constraint). Carried
 *       by {@code GenerationParams.constraint}.</li>
 *   <li>Compilation to bytes: {@code RegexParser} / {@code JsonSchemaParser} read the constraint,
 *       {@code RegexCompiler} / {@code JsonSchemaCompiler} add its language to an {@code Nfa}, {@code DfaBuilder}
 *       determinizes and trims it into a {@link dev.gemmaflink.runtime.constrain.ByteDfa} (valid UTF-8 only; every
 *       live state can still reach acceptance).</li>
 *   <li>From bytes to tokens: {@link dev.gemmaflink.runtime.constrain.TokenVocabulary} (the bytes each token adds
 *       to the text) and {@link dev.gemmaflink.runtime.constrain.TokenTrie} (a flat preorder trie walked together
 *       with the automaton) give the {@link dev.gemmaflink.runtime.model.TokenMask} of a state (the one mask type:
 *       what the device sampler takes per row, over the model's vocabulary): every token whose
 *       bytes keep the automaton alive, plus the end (stop) ids only in accepting states.</li>
 *   <li>Sharing: {@link dev.gemmaflink.runtime.constrain.ConstraintCompiler} compiles each distinct constraint
 *       (and stop-id set) once into a {@link dev.gemmaflink.runtime.constrain.CompiledConstraint}, whose
 *       {@code MaskCache} computes each state's mask once, on an executor, and shares it across requests; each
 *       request walks it with a {@link dev.gemmaflink.runtime.constrain.ConstraintCursor}.</li>
 * </ul>
 *
 * <p>In the engine: preparation compiles the request's constraint and starts computing its first mask; at each
 * step the engine thread attaches the row's mask to its device sample row ({@code Sampler.row(...).withMask},
 * joined as late as possible, just before {@code GemmaModel.forwardSample}; the mask applies to the logits before
 * temperature, top-k and top-p, on the device, with the Java {@code Sampler} as the exact reference), and once the
 * device returns the token advances the cursor, which starts computing the next mask on the engine's mask threads
 * while the engine thread finishes the step and plans the next; a match that nothing may extend ends the request with {@code STOP}, a
 * request cut by {@code maxNewTokens} before that is {@code LENGTH} and {@code EngineResult.incomplete()}.
 *
 * <p>JSON Schema subset (see {@code JsonSchemaParser}): {@code type} (one or a list), {@code properties} (keys
 * written in declaration order; optional ones may be omitted), {@code required}, {@code additionalProperties}
 * (true/false; no extra key is ever written), {@code enum}, {@code const}, {@code minLength}/{@code maxLength} (code
 * points), {@code pattern} (the regex subset, matched whole), {@code items}, {@code minItems}/{@code maxItems},
 * {@code anyOf}; annotations ({@code title}, {@code description}, ...) are ignored. Whitespace: at most
 * {@code maxWhitespace} bytes at each separator (default one space). Integers have at most 18 digits, numbers at
 * most 16 integer, 16 fraction and 2 exponent digits.
 */
package dev.gemmaflink.runtime.constrain;
