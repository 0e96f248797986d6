//! Patches that must be refused with a precise message, changing nothing anywhere.

use super::{cases, Case, Env, Expect::Error};

const ABC: &[(&str, &str)] = &[("f.txt", "a\nb\nc\n")];

#[cfg(unix)]
fn link_dir_outside(env: &Env) {
    std::fs::write(env.outside.path().join("secret.txt"), "secret\n").expect("write");
    env.symlink(env.outside.path(), "out");
}

#[cfg(unix)]
fn link_file_outside(env: &Env) {
    let target = env.outside.path().join("secret.txt");
    std::fs::write(&target, "secret\n").expect("write");
    env.symlink(&target, "cfg.txt");
}

fn non_utf8_file(env: &Env) {
    env.write("bin.dat", &[0xff, 0xfe, b'\n']);
}

cases! {
    rejects_empty_patch: Case {
        files: ABC,
        patch: "*** Begin Patch\n*** End Patch\n",
        expect: Error(&["contains no file operations"]),
        ..Case::DEFAULT
    };
    rejects_blank_text: Case {
        files: ABC,
        patch: "  \n\n",
        expect: Error(&["the patch is empty"]),
        ..Case::DEFAULT
    };
    rejects_missing_begin: Case {
        files: ABC,
        patch: "*** Update File: f.txt\n@@\n-a\n+A\n*** End Patch",
        expect: Error(&["first line of the patch must be '*** Begin Patch' (line 1)"]),
        ..Case::DEFAULT
    };
    rejects_missing_end: Case {
        files: ABC,
        patch: "*** Begin Patch\n*** Update File: f.txt\n@@\n-a\n+A\n",
        expect: Error(&["last line of the patch must be '*** End Patch' (line 5)"]),
        ..Case::DEFAULT
    };
    rejects_unclosed_heredoc: Case {
        files: ABC,
        patch: "apply_patch <<'EOF'\n*** Begin Patch\n*** Delete File: f.txt\n*** End Patch\n",
        expect: Error(&["heredoc opened at line 1 is not closed by a line 'EOF'"]),
        ..Case::DEFAULT
    };
    rejects_invalid_hunk_header: Case {
        files: ABC,
        patch: "*** Begin Patch\n*** Frobnicate File: f.txt\n*** End Patch",
        expect: Error(&["invalid hunk at line 2: '*** Frobnicate File: f.txt' is not a valid hunk header"]),
        ..Case::DEFAULT
    };
    rejects_invalid_chunk_line: Case {
        files: ABC,
        patch: "*** Begin Patch\n*** Update File: f.txt\n@@\n-a\nbogus\n*** End Patch",
        expect: Error(&["invalid hunk at line 5: unexpected line in update chunk: 'bogus'"]),
        ..Case::DEFAULT
    };
    rejects_update_with_no_chunks: Case {
        files: ABC,
        patch: "*** Begin Patch\n*** Update File: f.txt\n*** End Patch",
        expect: Error(&["invalid hunk at line 2: Update File hunk for 'f.txt' has no chunks"]),
        ..Case::DEFAULT
    };
    rejects_chunk_header_without_lines: Case {
        files: ABC,
        patch: "*** Begin Patch\n*** Update File: f.txt\n@@\n-a\n+A\n@@ c\n*** End Patch",
        expect: Error(&["invalid hunk at line 6: chunk has no lines"]),
        ..Case::DEFAULT
    };
    rejects_update_of_missing_file: Case {
        files: ABC,
        patch: "*** Begin Patch\n*** Update File: missing.txt\n@@\n-old\n+new\n*** End Patch",
        expect: Error(&["Failed to update missing.txt: file does not exist"]),
        ..Case::DEFAULT
    };
    rejects_delete_of_missing_file: Case {
        files: ABC,
        patch: "*** Begin Patch\n*** Delete File: missing.txt\n*** End Patch",
        expect: Error(&["Failed to delete missing.txt: file does not exist"]),
        ..Case::DEFAULT
    };
    rejects_delete_of_directory: Case {
        files: &[("dir/f.txt", "x\n")],
        patch: "*** Begin Patch\n*** Delete File: dir\n*** End Patch",
        expect: Error(&["Failed to delete dir: it is a directory, not a file"]),
        ..Case::DEFAULT
    };
    rejects_add_over_directory: Case {
        files: &[("dir/f.txt", "x\n")],
        patch: "*** Begin Patch\n*** Add File: dir\n+x\n*** End Patch",
        expect: Error(&["Failed to add dir: it is a directory, not a file"]),
        ..Case::DEFAULT
    };
    rejects_move_onto_directory: Case {
        files: &[("f.txt", "a\n"), ("dir/g.txt", "g\n")],
        patch: "*** Begin Patch\n*** Update File: f.txt\n*** Move to: dir\n@@\n-a\n+b\n*** End Patch",
        expect: Error(&["Failed to move to dir: it is a directory, not a file"]),
        ..Case::DEFAULT
    };
    rejects_path_through_a_file: Case {
        files: ABC,
        patch: "*** Begin Patch\n*** Add File: f.txt/inner.txt\n+x\n*** End Patch",
        expect: Error(&["Refusing to add f.txt/inner.txt:", "f.txt is not a directory"]),
        ..Case::DEFAULT
    };
    rejects_missing_context: Case {
        files: ABC,
        patch: "*** Begin Patch\n*** Update File: f.txt\n@@\n-a\n+A\n@@\n b\n-missing\n+x\n*** End Patch",
        expect: Error(&["Failed to find expected lines in f.txt (chunk 2 of 2):\nb\nmissing"]),
        ..Case::DEFAULT
    };
    rejects_missing_context_header: Case {
        files: ABC,
        patch: "*** Begin Patch\n*** Update File: f.txt\n@@ fn nowhere()\n-a\n+A\n*** End Patch",
        expect: Error(&["Failed to find context 'fn nowhere()' in f.txt (chunk 1 of 1)"]),
        ..Case::DEFAULT
    };
    rejects_chunk_before_previous_chunk: Case {
        files: ABC,
        patch: "*** Begin Patch\n*** Update File: f.txt\n@@\n-c\n+C\n@@\n-a\n+A\n*** End Patch",
        expect: Error(&["Failed to find expected lines in f.txt (chunk 2 of 2):\na"]),
        ..Case::DEFAULT
    };
    rejects_end_of_file_chunk_not_at_end: Case {
        files: ABC,
        patch: "*** Begin Patch\n*** Update File: f.txt\n@@\n a\n-b\n+B\n*** End of File\n*** End Patch",
        expect: Error(&["Failed to find expected lines in f.txt (chunk 1 of 1):\na\nb"]),
        ..Case::DEFAULT
    };
    rejects_non_utf8_update: Case {
        setup: Some(non_utf8_file),
        patch: "*** Begin Patch\n*** Update File: bin.dat\n@@\n-x\n+y\n*** End Patch",
        expect: Error(&["Failed to update bin.dat: the file is not valid UTF-8 text"]),
        ..Case::DEFAULT
    };
    rejects_absolute_path: Case {
        files: ABC,
        patch: "*** Begin Patch\n*** Add File: /nonexistent-agentd-test/x.txt\n+x\n*** End Patch",
        expect: Error(&["Refusing to add /nonexistent-agentd-test/x.txt: absolute paths are not allowed"]),
        ..Case::DEFAULT
    };
    rejects_dot_dot_escape: Case {
        files: ABC,
        patch: "*** Begin Patch\n*** Add File: sub/../../escape.txt\n+x\n*** End Patch",
        expect: Error(&["Refusing to add sub/../../escape.txt: the path escapes the working directory through '..'"]),
        ..Case::DEFAULT
    };
    rejects_move_to_escape: Case {
        files: ABC,
        patch: "*** Begin Patch\n*** Update File: f.txt\n*** Move to: ../moved.txt\n@@\n-a\n+A\n*** End Patch",
        expect: Error(&["Refusing to move to ../moved.txt: the path escapes the working directory"]),
        ..Case::DEFAULT
    };
    atomic_when_last_chunk_of_last_file_fails: Case {
        files: &[("a.txt", "a1\na2\n"), ("b.txt", "b1\nb2\n"), ("c.txt", "c1\nc2\nc3\n")],
        patch: "*** Begin Patch\n*** Add File: new/added.txt\n+added\n*** Update File: a.txt\n@@\n-a1\n+A1\n*** Delete File: b.txt\n*** Update File: c.txt\n@@\n-c1\n+C1\n@@\n-c2\n+C2\n@@\n-not there\n+x\n*** End Patch",
        expect: Error(&["Failed to find expected lines in c.txt (chunk 3 of 3):\nnot there"]),
        ..Case::DEFAULT
    };
    atomic_when_later_hunk_names_missing_file: Case {
        patch: "*** Begin Patch\n*** Add File: created.txt\n+hello\n*** Update File: missing.txt\n@@\n-old\n+new\n*** End Patch",
        expect: Error(&["Failed to update missing.txt: file does not exist"]),
        ..Case::DEFAULT
    };
    line_numbers_count_the_heredoc_line: Case {
        files: ABC,
        patch: "apply_patch <<'EOF'\n*** Begin Patch\n*** Bogus\n*** End Patch\nEOF",
        expect: Error(&["invalid hunk at line 3: '*** Bogus' is not a valid hunk header"]),
        ..Case::DEFAULT
    };
    rejects_update_of_directory: Case {
        files: &[("dir/f.txt", "x\n")],
        patch: "*** Begin Patch\n*** Update File: dir\n@@\n-x\n+y\n*** End Patch",
        expect: Error(&["Failed to update dir: it is a directory, not a file"]),
        ..Case::DEFAULT
    };
}

#[cfg(unix)]
cases! {
    rejects_update_through_symlinked_dir_outside: Case {
        setup: Some(link_dir_outside),
        patch: "*** Begin Patch\n*** Update File: out/secret.txt\n@@\n-secret\n+pwned\n*** End Patch",
        expect: Error(&["Refusing to update out/secret.txt: it resolves to", "outside the writable roots"]),
        ..Case::DEFAULT
    };
    rejects_add_through_symlinked_dir_outside: Case {
        setup: Some(link_dir_outside),
        patch: "*** Begin Patch\n*** Add File: out/new/file.txt\n+x\n*** End Patch",
        expect: Error(&["Refusing to add out/new/file.txt:", "outside the writable roots"]),
        ..Case::DEFAULT
    };
    rejects_symlinked_file_outside: Case {
        setup: Some(link_file_outside),
        patch: "*** Begin Patch\n*** Update File: cfg.txt\n@@\n-secret\n+pwned\n*** End Patch",
        expect: Error(&["Refusing to update cfg.txt:", "outside the writable roots"]),
        ..Case::DEFAULT
    };
    rejects_delete_of_symlink_to_outside: Case {
        setup: Some(link_file_outside),
        patch: "*** Begin Patch\n*** Delete File: cfg.txt\n*** End Patch",
        expect: Error(&["Refusing to delete cfg.txt:", "outside the writable roots"]),
        ..Case::DEFAULT
    };
    rejects_move_to_through_symlink_outside: Case {
        files: ABC,
        setup: Some(link_dir_outside),
        patch: "*** Begin Patch\n*** Update File: f.txt\n*** Move to: out/moved.txt\n@@\n-a\n+A\n*** End Patch",
        expect: Error(&["Refusing to move to out/moved.txt:", "outside the writable roots"]),
    };
}
