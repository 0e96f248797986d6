//! Patches that must apply, with the exact tree they must produce.

use super::{cases, Case, Expect::Tree};

const FN_BLOCKS: &str = "fn alpha() {\n    let x = 1;\n    return x;\n}\n\nfn beta() {\n    let x = 1;\n    return x;\n}\n";
const FN_BLOCKS_BETA_CHANGED: &str = "fn alpha() {\n    let x = 1;\n    return x;\n}\n\nfn beta() {\n    let x = 1;\n    return x + 1;\n}\n";

cases! {
    add_file: Case {
        patch: "*** Begin Patch\n*** Add File: hello.txt\n+Hello\n+world\n*** End Patch\n",
        expect: Tree(&[("hello.txt", "Hello\nworld\n")]),
        ..Case::DEFAULT
    };
    add_file_creates_parent_directories: Case {
        patch: "*** Begin Patch\n*** Add File: a/b/c.txt\n+deep\n*** End Patch",
        expect: Tree(&[("a/b/c.txt", "deep\n")]),
        ..Case::DEFAULT
    };
    add_file_keeps_inner_blank_lines: Case {
        patch: "*** Begin Patch\n*** Add File: a.txt\n+one\n\n+three\n\n*** End Patch",
        expect: Tree(&[("a.txt", "one\n\nthree\n")]),
        ..Case::DEFAULT
    };
    add_overwrites_existing_file: Case {
        files: &[("dup.txt", "old\n")],
        patch: "*** Begin Patch\n*** Add File: dup.txt\n+new\n*** End Patch",
        expect: Tree(&[("dup.txt", "new\n")]),
        ..Case::DEFAULT
    };
    update_with_several_chunks: Case {
        files: &[("f.txt", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n")],
        patch: "*** Begin Patch\n*** Update File: f.txt\n@@\n 1\n-2\n+two\n 3\n@@\n 5\n-6\n+six\n@@\n 9\n-10\n+ten\n*** End Patch",
        expect: Tree(&[("f.txt", "1\ntwo\n3\n4\n5\nsix\n7\n8\n9\nten\n")]),
        ..Case::DEFAULT
    };
    chunks_apply_in_order_to_repeated_lines: Case {
        files: &[("f.txt", "x\ny\nx\ny\n")],
        patch: "*** Begin Patch\n*** Update File: f.txt\n@@\n-x\n+first\n@@\n-x\n+second\n*** End Patch",
        expect: Tree(&[("f.txt", "first\ny\nsecond\ny\n")]),
        ..Case::DEFAULT
    };
    move_file: Case {
        files: &[("old.txt", "a\nb\n")],
        patch: "*** Begin Patch\n*** Update File: old.txt\n*** Move to: new.txt\n@@\n-a\n+A\n b\n*** End Patch",
        expect: Tree(&[("new.txt", "A\nb\n")]),
        ..Case::DEFAULT
    };
    move_into_new_directory: Case {
        files: &[("src/a.rs", "fn a() {}\n"), ("src/b.rs", "fn b() {}\n")],
        patch: "*** Begin Patch\n*** Update File: src/a.rs\n*** Move to: lib/nested/a.rs\n@@\n-fn a() {}\n+pub fn a() {}\n*** End Patch",
        expect: Tree(&[("src/b.rs", "fn b() {}\n"), ("lib/nested/a.rs", "pub fn a() {}\n")]),
        ..Case::DEFAULT
    };
    move_leaves_emptied_directory: Case {
        files: &[("old/a.txt", "a\n")],
        patch: "*** Begin Patch\n*** Update File: old/a.txt\n*** Move to: a.txt\n@@\n-a\n+b\n*** End Patch",
        expect: Tree(&[("old/", ""), ("a.txt", "b\n")]),
        ..Case::DEFAULT
    };
    move_overwrites_existing_destination: Case {
        files: &[("from.txt", "from\n"), ("to.txt", "existing\n")],
        patch: "*** Begin Patch\n*** Update File: from.txt\n*** Move to: to.txt\n@@\n-from\n+moved\n*** End Patch",
        expect: Tree(&[("to.txt", "moved\n")]),
        ..Case::DEFAULT
    };
    delete_file: Case {
        files: &[("keep.txt", "k\n"), ("gone.txt", "g\n")],
        patch: "*** Begin Patch\n*** Delete File: gone.txt\n*** End Patch",
        expect: Tree(&[("keep.txt", "k\n")]),
        ..Case::DEFAULT
    };
    end_of_file_marker_anchors_to_last_occurrence: Case {
        files: &[("f.py", "x = 1\nprint(x)\nx = 1\nprint(x)\n")],
        patch: "*** Begin Patch\n*** Update File: f.py\n@@\n x = 1\n-print(x)\n+print(x + 1)\n*** End of File\n*** End Patch",
        expect: Tree(&[("f.py", "x = 1\nprint(x)\nx = 1\nprint(x + 1)\n")]),
        ..Case::DEFAULT
    };
    context_header_disambiguates_repeated_blocks: Case {
        files: &[("lib.rs", FN_BLOCKS)],
        patch: "*** Begin Patch\n*** Update File: lib.rs\n@@ fn beta() {\n     let x = 1;\n-    return x;\n+    return x + 1;\n*** End Patch",
        expect: Tree(&[("lib.rs", FN_BLOCKS_BETA_CHANGED)]),
        ..Case::DEFAULT
    };
    unified_range_header_is_tolerated: Case {
        files: &[("lib.rs", FN_BLOCKS)],
        patch: "*** Begin Patch\n*** Update File: lib.rs\n@@ -7,2 +7,2 @@ fn beta() {\n     let x = 1;\n-    return x;\n+    return x + 1;\n*** End Patch",
        expect: Tree(&[("lib.rs", FN_BLOCKS_BETA_CHANGED)]),
        ..Case::DEFAULT
    };
    pure_addition_chunk_appends_at_end: Case {
        files: &[("f.txt", "a\nb\n")],
        patch: "*** Begin Patch\n*** Update File: f.txt\n@@\n+c\n+d\n*** End Patch",
        expect: Tree(&[("f.txt", "a\nb\nc\nd\n")]),
        ..Case::DEFAULT
    };
    pure_addition_after_context_header: Case {
        files: &[("Cargo.toml", "[deps]\nfoo = 1\n[dev]\nbar = 2\n")],
        patch: "*** Begin Patch\n*** Update File: Cargo.toml\n@@ [deps]\n+serde = 1\n*** End Patch",
        expect: Tree(&[("Cargo.toml", "[deps]\nserde = 1\nfoo = 1\n[dev]\nbar = 2\n")]),
        ..Case::DEFAULT
    };
    deletion_only_chunk: Case {
        files: &[("f.txt", "a\nb\nc\n")],
        patch: "*** Begin Patch\n*** Update File: f.txt\n@@\n a\n-b\n c\n*** End Patch",
        expect: Tree(&[("f.txt", "a\nc\n")]),
        ..Case::DEFAULT
    };
    trailing_whitespace_tolerated_and_context_kept: Case {
        files: &[("f.rs", "fn f() {   \n    old();\t\n}\n")],
        patch: "*** Begin Patch\n*** Update File: f.rs\n@@\n fn f() {\n-    old();\n+    new();\n }\n*** End Patch",
        expect: Tree(&[("f.rs", "fn f() {   \n    new();\n}\n")]),
        ..Case::DEFAULT
    };
    surrounding_whitespace_tolerated: Case {
        files: &[("f.go", "\t\tif x {\n\t\t\tgo()\n\t\t}\n")],
        patch: "*** Begin Patch\n*** Update File: f.go\n@@\n   if x {\n-      go()\n+\t\t\tstop()\n   }\n*** End Patch",
        expect: Tree(&[("f.go", "\t\tif x {\n\t\t\tstop()\n\t\t}\n")]),
        ..Case::DEFAULT
    };
    unicode_dashes_tolerated: Case {
        files: &[("r.rs", "// range 1\u{2013}10 \u{2014} inclusive\nlet r = 1..=10;\n")],
        patch: "*** Begin Patch\n*** Update File: r.rs\n@@\n // range 1-10 - inclusive\n-let r = 1..=10;\n+let r = 1..11;\n*** End Patch",
        expect: Tree(&[("r.rs", "// range 1\u{2013}10 \u{2014} inclusive\nlet r = 1..11;\n")]),
        ..Case::DEFAULT
    };
    unicode_quotes_tolerated: Case {
        files: &[("m.py", "msg = \u{201C}hello\u{201D} + \u{2018}world\u{2019}\nx = 1\n")],
        patch: "*** Begin Patch\n*** Update File: m.py\n@@\n-msg = \"hello\" + 'world'\n+msg = \"hi\"\n x = 1\n*** End Patch",
        expect: Tree(&[("m.py", "msg = \"hi\"\nx = 1\n")]),
        ..Case::DEFAULT
    };
    unicode_spaces_tolerated: Case {
        files: &[("a.txt", "a\u{A0}=\u{2009}1\n")],
        patch: "*** Begin Patch\n*** Update File: a.txt\n@@\n-a = 1\n+a = 2\n*** End Patch",
        expect: Tree(&[("a.txt", "a = 2\n")]),
        ..Case::DEFAULT
    };
    crlf_line_endings_preserved: Case {
        files: &[("w.txt", "one\r\ntwo\r\nthree\r\n")],
        patch: "*** Begin Patch\n*** Update File: w.txt\n@@\n one\n-two\n+TWO\n+2b\n three\n*** End Patch",
        expect: Tree(&[("w.txt", "one\r\nTWO\r\n2b\r\nthree\r\n")]),
        ..Case::DEFAULT
    };
    crlf_patch_text_on_lf_file: Case {
        files: &[("f.txt", "a\nb\n")],
        patch: "*** Begin Patch\r\n*** Update File: f.txt\r\n@@\r\n-a\r\n+A\r\n b\r\n*** End Patch\r\n",
        expect: Tree(&[("f.txt", "A\nb\n")]),
        ..Case::DEFAULT
    };
    missing_final_newline_is_added: Case {
        files: &[("f.txt", "a\nb")],
        patch: "*** Begin Patch\n*** Update File: f.txt\n@@\n-a\n+A\n*** End Patch",
        expect: Tree(&[("f.txt", "A\nb\n")]),
        ..Case::DEFAULT
    };
    heredoc_wrapper_quoted: Case {
        files: &[("f.txt", "a\n")],
        patch: "apply_patch <<'EOF'\n*** Begin Patch\n*** Update File: f.txt\n@@\n-a\n+b\n*** End Patch\nEOF\n",
        expect: Tree(&[("f.txt", "b\n")]),
        ..Case::DEFAULT
    };
    heredoc_wrapper_unquoted: Case {
        files: &[("f.txt", "a\n")],
        patch: "apply_patch <<EOF\n*** Begin Patch\n*** Update File: f.txt\n@@\n-a\n+b\n*** End Patch\nEOF",
        expect: Tree(&[("f.txt", "b\n")]),
        ..Case::DEFAULT
    };
    heredoc_wrapper_double_quoted: Case {
        patch: "<<\"PATCH\"\n*** Begin Patch\n*** Add File: n.txt\n+n\n*** End Patch\nPATCH\n",
        expect: Tree(&[("n.txt", "n\n")]),
        ..Case::DEFAULT
    };
    whitespace_padded_markers: Case {
        files: &[("f.txt", "a\nb\n")],
        patch: "\n  *** Begin Patch  \n   *** Update File:   f.txt   \n  @@  \n-a\n+A\n b\n\t*** End of File \n   *** Add File: n.txt \n+n\n\t*** End Patch\t\n\n",
        expect: Tree(&[("f.txt", "A\nb\n"), ("n.txt", "n\n")]),
        ..Case::DEFAULT
    };
    omitted_first_chunk_header: Case {
        files: &[("f.txt", "a\nb\nc\n")],
        patch: "*** Begin Patch\n*** Update File: f.txt\n a\n-b\n+B\n@@\n-c\n+C\n*** End Patch",
        expect: Tree(&[("f.txt", "a\nB\nC\n")]),
        ..Case::DEFAULT
    };
    empty_line_inside_chunk_is_empty_context: Case {
        files: &[("f.txt", "a\n\nb\n")],
        patch: "*** Begin Patch\n*** Update File: f.txt\n@@\n a\n\n-b\n+B\n\n*** End Patch",
        expect: Tree(&[("f.txt", "a\n\nB\n")]),
        ..Case::DEFAULT
    };
    several_operations_in_one_patch: Case {
        files: &[("mod.txt", "1\n2\n"), ("del.txt", "d\n"), ("mv.txt", "m\n")],
        patch: "*** Begin Patch\n*** Add File: nested/new.txt\n+created\n*** Delete File: del.txt\n\n*** Update File: mod.txt\n@@\n-2\n+changed\n\n*** Update File: mv.txt\n*** Move to: moved/mv.txt\n@@\n-m\n+M\n*** End Patch",
        expect: Tree(&[("nested/new.txt", "created\n"), ("mod.txt", "1\nchanged\n"), ("moved/mv.txt", "M\n")]),
        ..Case::DEFAULT
    };
    same_file_updated_by_two_hunks: Case {
        files: &[("f.txt", "a\nb\n")],
        patch: "*** Begin Patch\n*** Update File: f.txt\n@@\n-a\n+A\n*** Update File: f.txt\n@@\n A\n-b\n+B\n*** End Patch",
        expect: Tree(&[("f.txt", "A\nB\n")]),
        ..Case::DEFAULT
    };
    add_then_update_in_same_patch: Case {
        patch: "*** Begin Patch\n*** Add File: n.txt\n+one\n*** Update File: n.txt\n@@\n one\n+two\n*** End Patch",
        expect: Tree(&[("n.txt", "one\ntwo\n")]),
        ..Case::DEFAULT
    };
    dot_dot_that_stays_inside_is_allowed: Case {
        files: &[("a/f.txt", "x\n")],
        patch: "*** Begin Patch\n*** Update File: a/../a/./f.txt\n@@\n-x\n+y\n*** End Patch",
        expect: Tree(&[("a/f.txt", "y\n")]),
        ..Case::DEFAULT
    };
    utf8_bom_is_kept: Case {
        files: &[("b.txt", "\u{FEFF}first\nsecond\n")],
        patch: "*** Begin Patch\n*** Update File: b.txt\n@@\n-first\n+1st\n*** End Patch",
        expect: Tree(&[("b.txt", "\u{FEFF}1st\nsecond\n")]),
        ..Case::DEFAULT
    };
    heredoc_wrapper_piped_from_cat: Case {
        files: &[("f.txt", "a\n")],
        patch: "cat <<'EOF' | apply_patch\n*** Begin Patch\n*** Update File: f.txt\n@@\n-a\n+b\n*** End Patch\nEOF\n",
        expect: Tree(&[("f.txt", "b\n")]),
        ..Case::DEFAULT
    };
    diff_no_newline_marker_is_ignored: Case {
        files: &[("f.txt", "a\nb")],
        patch: "*** Begin Patch\n*** Update File: f.txt\n@@\n a\n-b\n\\ No newline at end of file\n+c\n*** End Patch",
        expect: Tree(&[("f.txt", "a\nc\n")]),
        ..Case::DEFAULT
    };
    crlf_file_without_final_newline: Case {
        files: &[("w.txt", "a\r\nb")],
        patch: "*** Begin Patch\n*** Update File: w.txt\n@@\n a\n+mid\n b\n*** End Patch",
        expect: Tree(&[("w.txt", "a\r\nmid\r\nb\r\n")]),
        ..Case::DEFAULT
    };
    delete_then_add_same_path: Case {
        files: &[("f.txt", "old\n")],
        patch: "*** Begin Patch\n*** Delete File: f.txt\n*** Add File: f.txt\n+new\n*** End Patch",
        expect: Tree(&[("f.txt", "new\n")]),
        ..Case::DEFAULT
    };
}
