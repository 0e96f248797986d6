//! The `apply_patch` tool end to end: real files in the thread's cwd change (or, on any error,
//! none do), clients see a `fileChange` item with each file's diff and `turn/diff/updated`, and
//! the model is told what happened — over the Responses API (a freeform tool) and Chat
//! Completions (a function taking `{input}`).

use agentd_tests::mock_llm::{ChatStep, Scripted, Step, Usage};
use agentd_tests::tools::{read, the_item, turn_status, ToolRig};
use agentd_tests::turns::of_method;
use agentd_tests::Options;
use serde_json::{json, Value};

fn patch_then_done(patch: &str) -> Vec<Scripted> {
    vec![
        Scripted::responses(vec![
            Step::created(),
            Step::custom_tool_call("p1", "apply_patch", patch),
            Step::completed(Usage::default()),
        ]),
        Scripted::responses_text("done"),
    ]
}

async fn one_turn(rig: &ToolRig) -> Vec<Value> {
    let mut c = rig.client("t").await.unwrap();
    let thread = rig.thread(&mut c).await.unwrap();
    let turn = c.start_turn(&thread, "edit").await.unwrap();
    c.until_turn_completed(&turn).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_update_and_delete_change_the_files_in_the_threads_cwd() {
    let patch = "*** Begin Patch\n\
                 *** Add File: new.txt\n+hello\n+world\n\
                 *** Update File: upd.txt\n@@\n one\n-two\n+TWO\n three\n\
                 *** Delete File: del.txt\n\
                 *** End Patch";
    // The default policy (on-request, workspace-write) lets a patch inside the workspace
    // through without asking.
    let rig = ToolRig::start(patch_then_done(patch), Options::default())
        .await
        .unwrap();
    std::fs::write(rig.path("upd.txt"), "one\ntwo\nthree\n").unwrap();
    std::fs::write(rig.path("del.txt"), "bye\n").unwrap();
    let events = one_turn(&rig).await;
    assert_eq!(turn_status(&events), "completed");

    assert_eq!(read(&rig.path("new.txt")), "hello\nworld\n");
    assert_eq!(read(&rig.path("upd.txt")), "one\nTWO\nthree\n");
    assert!(!rig.path("del.txt").exists());

    let item = the_item(&events, "fileChange");
    assert_eq!(item["status"], "completed");
    let changes = item["changes"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = changes
        .iter()
        .map(|c| {
            (
                c["path"].as_str().unwrap(),
                c["kind"]["type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("new.txt", "add"),
            ("upd.txt", "update"),
            ("del.txt", "delete")
        ]
    );
    let diff_of = |i: usize| changes[i]["diff"].as_str().unwrap();
    assert!(
        diff_of(0).contains("+hello") && diff_of(0).contains("+world"),
        "{}",
        diff_of(0)
    );
    assert!(
        diff_of(1).contains("-two") && diff_of(1).contains("+TWO"),
        "{}",
        diff_of(1)
    );
    assert!(diff_of(1).contains("@@"), "a unified diff: {}", diff_of(1));
    assert!(diff_of(2).contains("-bye"), "{}", diff_of(2));

    let diff = of_method(&events, "turn/diff/updated");
    assert_eq!(diff.len(), 1);
    let diff = diff[0]["params"]["diff"].as_str().unwrap();
    for needle in ["+hello", "+TWO", "-bye"] {
        assert!(diff.contains(needle), "{needle} in {diff}");
    }

    let output = rig.model_saw(2, "p1").await.unwrap();
    for path in ["new.txt", "upd.txt", "del.txt"] {
        assert!(output.contains(path), "{path} in {output}");
    }
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_last_chunk_changes_nothing_and_names_the_chunk() {
    let patch = "*** Begin Patch\n\
                 *** Add File: other.txt\n+x\n\
                 *** Update File: upd.txt\n@@\n-one\n+ONE\n@@\n-not in the file\n+y\n\
                 *** End Patch";
    let rig = ToolRig::start(patch_then_done(patch), Options::default())
        .await
        .unwrap();
    std::fs::write(rig.path("upd.txt"), "one\ntwo\n").unwrap();
    let events = one_turn(&rig).await;
    assert_eq!(turn_status(&events), "completed");
    assert!(!rig.path("other.txt").exists());
    assert_eq!(read(&rig.path("upd.txt")), "one\ntwo\n");
    assert!(of_method(&events, "turn/diff/updated").is_empty());
    let output = rig.model_saw(2, "p1").await.unwrap();
    assert!(output.contains("apply_patch failed"), "{output}");
    assert!(output.contains("upd.txt"), "{output}");
    assert!(output.contains("chunk 2 of 2"), "{output}");
    assert!(output.contains("not in the file"), "{output}");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_escaping_the_workspace_is_refused() {
    let patch = "*** Begin Patch\n*** Add File: ../escaped.txt\n+x\n*** End Patch";
    let rig = ToolRig::start(patch_then_done(patch), Options::default().unconfined())
        .await
        .unwrap();
    let events = one_turn(&rig).await;
    assert_eq!(turn_status(&events), "completed");
    let outside = rig.workspace.path().parent().unwrap().join("escaped.txt");
    assert!(!outside.exists());
    let output = rig.model_saw(2, "p1").await.unwrap();
    assert!(output.contains("Refusing"), "{output}");
    assert!(output.contains(".."), "{output}");
    rig.mock.assert_pairing_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_chat_completions_the_patch_arrives_as_a_function_input() {
    let patch = "*** Begin Patch\n*** Add File: chat.txt\n+via chat\n*** End Patch";
    let rig = ToolRig::start_wire(
        vec![
            Scripted::chat_tool_call(
                "call_p",
                "apply_patch",
                &json!({ "input": patch }).to_string(),
            ),
            Scripted::chat(vec![
                ChatStep::content(&["done"]),
                ChatStep::finish("stop"),
                ChatStep::done(),
            ]),
        ],
        Options::default(),
        "chat",
    )
    .await
    .unwrap();
    let events = one_turn(&rig).await;
    assert_eq!(turn_status(&events), "completed");
    assert_eq!(read(&rig.path("chat.txt")), "via chat\n");
    assert_eq!(the_item(&events, "fileChange")["status"], "completed");
    let reqs = rig.mock.requests();
    let tool = reqs[0].body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["function"]["name"] == "apply_patch")
        .expect("apply_patch offered");
    assert_eq!(tool["type"], "function");
    assert!(
        tool["function"]["parameters"]["properties"]["input"].is_object(),
        "{tool}"
    );
    let output = rig.model_saw(2, "call_p").await.unwrap();
    assert!(output.contains("chat.txt"), "{output}");
    rig.mock.assert_pairing_ok();
}
