package dev.gemmaflink.operators.architecture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The scan behind the architecture tests sees every form of reference, and none in comments. */
class JavaSourcesTest {

    @TempDir
    Path tmp;

    @Test
    void findsImportsStaticAndWildcardImportsAndQualifiedNamesButNotComments() throws Exception {
        Path file = tmp.resolve("Sample.java");
        Files.writeString(file, String.join("\n",
                "package a;",
                "import x.y.engine.Engine;",
                "import static x.y.engine.Engine.DEFAULT;",
                "import x.y.cache.*;",
                "// import x.y.commented.Out;",
                "/* x.y.block.Comment */",
                "class Sample {",
                "    String url = \"http://example.org/* not a comment */\";",
                "    Object o = new x.y.cache.Blocks.Pool();",
                "    String reflect = \"x.y.model.Loader\"; // x.y.trailing.Comment",
                "    char quote = '\"'; x.y.after.Quote q;",
                "    x.y.abc z; x.yz.Other w;",
                "}"));
        List<JavaSources.Reference> refs = JavaSources.references(file, "x.y");
        assertThat(refs).extracting(JavaSources.Reference::line, JavaSources.Reference::name,
                JavaSources.Reference::target, JavaSources.Reference::isPackage, JavaSources.Reference::isImport)
                .containsExactly(
                        tuple(2, "x.y.engine.Engine", "x.y.engine.Engine", false, true),
                        tuple(3, "x.y.engine.Engine.DEFAULT", "x.y.engine.Engine", false, true),
                        tuple(4, "x.y.cache.*", "x.y.cache", true, true),
                        tuple(9, "x.y.cache.Blocks.Pool", "x.y.cache.Blocks", false, false),
                        tuple(10, "x.y.model.Loader", "x.y.model.Loader", false, false),
                        tuple(11, "x.y.after.Quote", "x.y.after.Quote", false, false),
                        tuple(12, "x.y.abc", "x.y.abc", true, false));
    }
}
