//! report.md: a short Markdown summary fit for a chat message or a ticket.

use super::Report;
use crate::output::{count, human_bytes, thousands};

fn delivery_name(r: &Report) -> String {
    r.delivery["name"]
        .as_str()
        .unwrap_or("(delivery)")
        .to_string()
}

/// The Markdown text.
pub fn render(r: &Report) -> String {
    let t = &r.totals;
    let get = |s: &str| t.statuses.get(s).copied().unwrap_or_default();
    let source = r.delivery["source_bucket"].as_str().unwrap_or("");
    let mut out = format!(
        "**S3 replication — {source} — inventory {}**\n\n",
        delivery_name(r)
    );
    out.push_str(&format!(
        "- {}, {}; {} of bytes replicated\n",
        count(t.objects, "object"),
        human_bytes(t.bytes),
        t.replicated_pct
            .map_or_else(|| "n/a".into(), |p| format!("{p:.1}%"))
    ));
    out.push_str(&format!(
        "- Not replicated: {}, {} — FAILED {} ({}), PENDING {} ({}), never replicated {} ({})\n",
        count(t.unreplicated.objects, "object"),
        human_bytes(t.unreplicated.bytes),
        thousands(get("FAILED").objects),
        human_bytes(get("FAILED").bytes),
        thousands(get("PENDING").objects),
        human_bytes(get("PENDING").bytes),
        thousands(get("NONE").objects),
        human_bytes(get("NONE").bytes),
    ));
    if r.pending.stuck.objects > 0 {
        out.push_str(&format!(
            "- Stuck PENDING (older than {}): {}, {}, oldest last modified {} — live replication will not finish them; re-drive with Batch Replication\n",
            r.pending.older_than,
            count(r.pending.stuck.objects, "object"),
            human_bytes(r.pending.stuck.bytes),
            r.pending.stuck.oldest_last_modified.as_deref().unwrap_or("?")
        ));
    }
    for c in &r.comparisons {
        let f = c.change.get("FAILED").copied().unwrap_or_default();
        out.push_str(&format!(
            "- Since {} ({} earlier): FAILED {:+}, newly FAILED {}, left FAILED {}, became stuck {}\n",
            c.delivery,
            c.interval(),
            f.objects,
            thousands(c.newly_failed.objects),
            thousands(c.left_failed.objects),
            thousands(c.became_stuck.objects)
        ));
    }
    if r.comparisons.is_empty() {
        // Unknown is not 0: without an earlier delivery there is nothing to count.
        out.push_str(
            "- Since the previous delivery: newly FAILED unknown, left FAILED unknown, became stuck unknown (no comparison)\n",
        );
    }
    let fired: Vec<String> = r
        .alerts
        .iter()
        .filter(|a| a.triggered)
        .map(|a| format!("`{}` (value {})", a.condition, a.shown_value()))
        .collect();
    if !fired.is_empty() {
        out.push_str(&format!("- **Alerts**: {}\n", fired.join(", ")));
    }
    if let Some(p) = r.top_prefixes.first().filter(|p| p.unreplicated.bytes > 0) {
        out.push_str(&format!(
            "- Most bytes not replicated under `{}`: {}\n",
            p.value.replace('`', "'"),
            human_bytes(p.unreplicated.bytes)
        ));
    }
    for n in &r.notes {
        out.push_str(&format!("- Note: {}\n", n.text.replace('`', "'")));
    }
    if let Some(why) = &r.why {
        out.push_str("\n**Why** (s3inv doctor)\n\n| cause | status | rule | destination | objects | bytes | confidence |\n|---|---|---|---|---:|---:|---|\n");
        let cell = |s: &str| s.replace('|', "\\|").replace('`', "'");
        for row in &why.rows {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} | {} |\n",
                cell(&row.cause),
                row.status,
                cell(row.rule.as_deref().unwrap_or("-")),
                cell(row.destination.as_deref().unwrap_or("-")),
                thousands(row.objects),
                human_bytes(row.bytes),
                row.confidence
            ));
        }
        for f in &why.findings {
            out.push_str(&format!("- Finding: {}\n", cell(&f.message)));
        }
    }
    for r in r.replicas.iter().flatten() {
        let cell = |s: &str| s.replace('|', "\\|").replace('`', "'");
        out.push_str(&format!(
            "\n**Replicas at `{}`** (s3inv diff, matched on {})\n\n| category | objects | bytes |\n|---|---:|---:|\n",
            cell(&r.destination),
            r.matching.replace('_', " ")
        ));
        for c in &r.categories {
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                c.id,
                thousands(c.objects),
                human_bytes(c.bytes)
            ));
        }
        out.push_str(&format!(
            "| total | {} | {} |\n",
            thousands(r.total.objects),
            human_bytes(r.total.bytes)
        ));
        for (id, keys) in &r.examples {
            let shown: Vec<String> = keys.iter().map(|k| format!("`{}`", cell(k))).collect();
            out.push_str(&format!("- {id}: {}\n", shown.join(", ")));
        }
        for n in &r.notes {
            out.push_str(&format!("- Note: {}\n", cell(n)));
        }
    }
    out
}
