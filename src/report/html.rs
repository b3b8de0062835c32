//! report.html: one self-contained page (inline CSS and SVG, no scripts, no network) that
//! reads well on a laptop screen.

use std::fmt::Write;

use super::{GroupLine, Report};
use crate::analytics::summary::STATUSES;
use crate::output::{count, human_bytes, thousands};

const COLORS: [(&str, &str); 5] = [
    ("COMPLETED", "#2e7d32"),
    ("PENDING", "#f9a825"),
    ("FAILED", "#c62828"),
    ("REPLICA", "#1565c0"),
    ("NONE", "#8d8d8d"),
];

fn color(status: &str) -> &'static str {
    COLORS
        .iter()
        .find(|(s, _)| *s == status)
        .map_or("#5e35b1", |(_, c)| c)
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;margin:0;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}
.sub{color:#666;margin:0 0 18px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px}
.card{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card .label{color:#666;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:22px;font-weight:600;margin-top:2px}.card .detail{color:#666;font-size:12px}
.bad .value{color:#c62828}.ok .value{color:#2e7d32}
.panel{background:#fff;border-radius:8px;padding:14px;box-shadow:0 1px 2px rgba(0,0,0,.08);overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
td.key{text-align:left;white-space:normal;word-break:break-all;font-family:ui-monospace,Menlo,monospace;font-size:12px}
th{color:#555;font-weight:600;background:#fafafa}
.alert{background:#fdecea;border:1px solid #f5c2c0;color:#8a1c1c;border-radius:8px;padding:10px 14px;margin-top:16px}
.note{color:#666;font-size:12px}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:5px;border-radius:2px;vertical-align:-1px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}@media(max-width:900px){.grid2{grid-template-columns:1fr}}
";

fn card(out: &mut String, class: &str, label: &str, value: &str, detail: &str) {
    let _ = write!(
        out,
        "<div class=\"card {class}\"><div class=\"label\">{}</div><div class=\"value\">{}</div><div class=\"detail\">{}</div></div>",
        esc(label),
        esc(value),
        esc(detail)
    );
}

fn legend(out: &mut String) {
    out.push_str("<div class=\"legend\">");
    for (s, c) in COLORS {
        let _ = write!(out, "<span><i style=\"background:{c}\"></i>{s}</span>");
    }
    out.push_str("</div>");
}

/// Horizontal stacked bars: one per group, segments per status (by bytes).
fn stacked_bars(out: &mut String, groups: &[GroupLine], title: &str) {
    let width = 760.0;
    let label_w = 150.0;
    let bar_h = 22.0;
    let height = groups.len() as f64 * (bar_h + 8.0) + 10.0;
    let max = groups.iter().map(|g| g.bytes).max().unwrap_or(0).max(1) as f64;
    let _ = write!(
        out,
        "<svg role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {width} {height}\" width=\"100%\" style=\"max-width:{width}px\">",
        esc(title)
    );
    for (i, g) in groups.iter().enumerate() {
        let y = 5.0 + i as f64 * (bar_h + 8.0);
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            y + bar_h * 0.7,
            esc(&truncate(&g.value, 24))
        );
        let mut x = label_w;
        for s in STATUSES {
            let b = g.statuses.get(s).map_or(0, |c| c.bytes);
            if b == 0 {
                continue;
            }
            let w = b as f64 / max * (width - label_w - 90.0);
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{:.1}\" height=\"{bar_h}\" fill=\"{}\"><title>{} {}: {}</title></rect>",
                w.max(0.5),
                color(s),
                esc(&g.value),
                s,
                human_bytes(b)
            );
            x += w;
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"12\" fill=\"#555\">{}</text>",
            x + 6.0,
            y + bar_h * 0.7,
            human_bytes(g.bytes)
        );
    }
    out.push_str("</svg>");
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n - 1).collect();
        format!("{t}…")
    }
}

/// Line chart of unreplicated bytes (and FAILED objects) over deliveries.
fn trend_chart(out: &mut String, r: &Report) {
    let pts = &r.trend;
    if pts.len() < 2 {
        out.push_str("<p class=\"note\">The trend appears once two deliveries have been reported or compared.</p>");
        return;
    }
    let (w, h, left, bottom) = (760.0, 220.0, 70.0, 40.0);
    let max_b = pts
        .iter()
        .map(|p| p.unreplicated_bytes)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let max_f = pts
        .iter()
        .map(|p| p.failed_objects)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let x = |i: usize| left + i as f64 * (w - left - 20.0) / (pts.len() - 1) as f64;
    let yb = |v: u64| 10.0 + (h - bottom - 10.0) * (1.0 - v as f64 / max_b);
    let yf = |v: u64| 10.0 + (h - bottom - 10.0) * (1.0 - v as f64 / max_f);
    let _ = write!(
        out,
        "<svg role=\"img\" aria-label=\"trend\" viewBox=\"0 0 {w} {h}\" width=\"100%\" style=\"max-width:{w}px\">"
    );
    let _ = write!(
        out,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#ccc\"/>",
        h - bottom,
        w - 20.0,
        h - bottom
    );
    let line = |out: &mut String, f: &dyn Fn(usize) -> f64, c: &str| {
        let d: Vec<String> = (0..pts.len())
            .map(|i| format!("{:.1},{:.1}", x(i), f(i)))
            .collect();
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>",
            d.join(" ")
        );
        for i in 0..pts.len() {
            let _ = write!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{c}\"/>",
                x(i),
                f(i)
            );
        }
    };
    line(out, &|i| yb(pts[i].unreplicated_bytes), "#6a1b9a");
    line(out, &|i| yf(pts[i].failed_objects), "#c62828");
    let _ = write!(
        out,
        "<text x=\"4\" y=\"16\" font-size=\"11\" fill=\"#6a1b9a\">{}</text>",
        human_bytes(max_b as u64)
    );
    for (i, p) in pts.iter().enumerate() {
        if pts.len() <= 12 || i % pts.len().div_ceil(12) == 0 || i == pts.len() - 1 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
                x(i),
                h - bottom + 16.0,
                esc(p.delivery.get(5..10).unwrap_or(&p.delivery))
            );
        }
    }
    out.push_str("</svg><div class=\"legend\"><span><i style=\"background:#6a1b9a\"></i>bytes not replicated</span><span><i style=\"background:#c62828\"></i>FAILED objects</span></div>");
}

fn group_table(out: &mut String, first: &str, groups: &[GroupLine]) {
    let _ = write!(
        out,
        "<table><tr><th>{}</th><th>objects</th><th>bytes</th>",
        esc(first)
    );
    for s in STATUSES {
        let _ = write!(out, "<th>{s}</th>");
    }
    out.push_str("<th>not replicated</th></tr>");
    for g in groups {
        let _ = write!(
            out,
            "<tr><td class=\"key\">{}</td><td>{}</td><td>{}</td>",
            esc(&g.value),
            thousands(g.objects),
            human_bytes(g.bytes)
        );
        for s in STATUSES {
            let _ = write!(
                out,
                "<td>{}</td>",
                thousands(g.statuses.get(s).map_or(0, |c| c.objects))
            );
        }
        let _ = write!(out, "<td>{}</td></tr>", human_bytes(g.unreplicated.bytes));
    }
    out.push_str("</table>");
}

/// The page.
pub fn render(r: &Report) -> String {
    let t = &r.totals;
    let get = |s: &str| t.statuses.get(s).copied().unwrap_or_default();
    let name = r.delivery["name"].as_str().unwrap_or("");
    let source = r.delivery["source_bucket"].as_str().unwrap_or("");
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Replication report — {} — {}</title><style>{STYLE}</style></head><body><main>",
        esc(source),
        esc(name)
    );
    let _ = write!(
        out,
        "<h1>Replication report — {}</h1><p class=\"sub\">Inventory delivery {} · {} · {} file{}, {} · current versions, delete markers excluded</p>",
        esc(source),
        esc(name),
        esc(r.delivery["format"].as_str().unwrap_or("")),
        r.delivery["files"],
        if r.delivery["files"] == 1 { "" } else { "s" },
        human_bytes(r.delivery["bytes"].as_u64().unwrap_or(0))
    );
    out.push_str("<section class=\"cards\">");
    card(
        &mut out,
        "",
        "Objects",
        &thousands(t.objects),
        &human_bytes(t.bytes),
    );
    card(
        &mut out,
        if t.replicated_pct.is_some_and(|p| p >= 99.9) {
            "ok"
        } else {
            ""
        },
        "Replicated",
        &t.replicated_pct
            .map_or_else(|| "n/a".into(), |p| format!("{p:.1}%")),
        "COMPLETED bytes of non-replica bytes",
    );
    card(
        &mut out,
        if t.unreplicated.objects > 0 {
            "bad"
        } else {
            "ok"
        },
        "Not replicated",
        &human_bytes(t.unreplicated.bytes),
        &count(t.unreplicated.objects, "object"),
    );
    card(
        &mut out,
        if get("FAILED").objects > 0 {
            "bad"
        } else {
            "ok"
        },
        "FAILED",
        &thousands(get("FAILED").objects),
        &human_bytes(get("FAILED").bytes),
    );
    card(
        &mut out,
        if r.pending.stuck.objects > 0 {
            "bad"
        } else {
            ""
        },
        "Stuck PENDING",
        &thousands(r.pending.stuck.objects),
        &format!(
            "older than {}; {} recent",
            r.pending.older_than,
            thousands(r.pending.recent.objects)
        ),
    );
    card(
        &mut out,
        "",
        "Never replicated",
        &thousands(get("NONE").objects),
        &human_bytes(get("NONE").bytes),
    );
    out.push_str("</section>");
    let fired: Vec<&super::Alert> = r.alerts.iter().filter(|a| a.triggered).collect();
    if !fired.is_empty() {
        out.push_str("<div class=\"alert\"><b>Alerts:</b> ");
        let items: Vec<String> = fired
            .iter()
            .map(|a| format!("{} (value {})", esc(&a.condition), a.shown_value()))
            .collect();
        out.push_str(&items.join(" · "));
        out.push_str("</div>");
    }
    // Notes change what the numbers mean (a delivery skipped, no comparison): shown before
    // the numbers, not after them.
    for n in &r.notes {
        let _ = write!(out, "<p class=\"note\">Note: {}</p>", esc(&n.text));
    }
    if r.pending.stuck.objects > 0 {
        let _ = write!(
            out,
            "<div class=\"alert\">{} PENDING objects ({}) have been pending for more than {} (oldest last modified {}): live replication will not finish them by itself; re-drive them with S3 Batch Replication (<code>s3inv manifest</code>).</div>",
            thousands(r.pending.stuck.objects),
            human_bytes(r.pending.stuck.bytes),
            esc(&r.pending.older_than),
            esc(r
                .pending
                .stuck
                .oldest_last_modified
                .as_deref()
                .unwrap_or("?"))
        );
    }

    out.push_str("<h2>Status</h2><div class=\"panel\"><table><tr><th>status</th><th>objects</th><th>% objects</th><th>bytes</th><th>% bytes</th></tr>");
    for s in STATUSES {
        let c = get(s);
        let _ = write!(
            out,
            "<tr><td><span style=\"color:{}\">■</span> {s}</td><td>{}</td><td>{:.1}%</td><td>{}</td><td>{:.1}%</td></tr>",
            color(s),
            thousands(c.objects),
            super::pct(c.objects, t.objects),
            human_bytes(c.bytes),
            super::pct(c.bytes, t.bytes)
        );
    }
    out.push_str("</table></div>");

    out.push_str("<div class=\"grid2\"><div><h2>Status by age (bytes)</h2><div class=\"panel\">");
    stacked_bars(&mut out, &r.by_age, "status by age");
    legend(&mut out);
    out.push_str(
        "</div></div><div><h2>Top prefixes by bytes not replicated</h2><div class=\"panel\">",
    );
    let top: Vec<GroupLine> = r
        .top_prefixes
        .iter()
        .filter(|g| g.unreplicated.bytes > 0)
        .cloned()
        .collect();
    if top.is_empty() {
        out.push_str("<p class=\"note\">Every byte is replicated.</p>");
    } else {
        let as_unreplicated: Vec<GroupLine> = top
            .iter()
            .map(|g| {
                let mut g = g.clone();
                g.statuses
                    .retain(|s, _| matches!(s.as_str(), "PENDING" | "FAILED" | "NONE"));
                g.bytes = g.unreplicated.bytes;
                g
            })
            .collect();
        stacked_bars(
            &mut out,
            &as_unreplicated,
            "top prefixes by bytes not replicated",
        );
    }
    out.push_str("</div></div></div>");

    out.push_str("<h2>Trend</h2><div class=\"panel\">");
    trend_chart(&mut out, r);
    if !r.comparisons.is_empty() {
        out.push_str("<table><tr><th>compared with</th><th>earlier by</th><th>format</th><th>Δ FAILED</th><th>Δ PENDING</th><th>Δ NONE</th><th>Δ objects</th><th>newly FAILED</th><th>left FAILED</th><th>became stuck</th></tr>");
        for c in &r.comparisons {
            let d = |s: &str| c.change.get(s).copied().unwrap_or_default().objects;
            let total: i64 = c.change.values().map(|v| v.objects).sum();
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:+}</td><td>{:+}</td><td>{:+}</td><td>{:+}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.delivery),
                c.interval(),
                esc(&c.format),
                d("FAILED"),
                d("PENDING"),
                d("NONE"),
                total,
                thousands(c.newly_failed.objects),
                thousands(c.left_failed.objects),
                thousands(c.became_stuck.objects)
            );
        }
        out.push_str("</table>");
    } else {
        out.push_str("<p class=\"note\">No comparison: newly FAILED, left FAILED and became stuck are unknown (n/a).</p>");
    }
    out.push_str("</div>");

    let _ = write!(
        out,
        "<h2>Top prefixes (depth {})</h2><div class=\"panel\">",
        r.prefix_depth
    );
    group_table(&mut out, "prefix", &r.top_prefixes);
    out.push_str("</div><h2>Storage classes</h2><div class=\"panel\">");
    group_table(&mut out, "storage class", &r.storage_classes);
    out.push_str("</div><h2>Encryption</h2><div class=\"panel\">");
    group_table(&mut out, "encryption status", &r.encryption_statuses);
    out.push_str("</div><h2>Largest FAILED objects</h2><div class=\"panel\">");
    if r.largest_failed.is_empty() {
        out.push_str("<p class=\"note\">No FAILED objects.</p>");
    } else {
        out.push_str("<table><tr><th>key</th><th>version</th><th>size</th><th>last modified</th><th>storage class</th><th>encryption</th></tr>");
        for f in &r.largest_failed {
            let _ = write!(
                out,
                "<tr><td class=\"key\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&f.key),
                esc(f.version_id.as_deref().unwrap_or("null")),
                human_bytes(f.size.max(0) as u64),
                esc(f.last_modified.as_deref().unwrap_or("")),
                esc(f.storage_class.as_deref().unwrap_or("")),
                esc(f.encryption_status.as_deref().unwrap_or(""))
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</div>");
    if let Some(why) = &r.why {
        why_section(&mut out, why);
    }
    for replicas in r.replicas.iter().flatten() {
        replicas_section(&mut out, replicas);
    }
    let _ = writeln!(
        out,
        "<p class=\"note\">Made by s3inv from {} — ages are measured at the delivery's creation time, so the report is reproducible.</p></main></body></html>",
        esc(r.delivery["manifest"].as_str().unwrap_or(""))
    );
    out
}

/// `s3inv diff` against one destination's inventory.
fn replicas_section(out: &mut String, r: &crate::diff::ReplicaSummary) {
    let _ = write!(
        out,
        "<h2>Replicas at {} (s3inv diff)</h2><div class=\"panel\"><p class=\"note\">Matched on {}.</p><table><tr><th>category</th><th>objects</th><th>bytes</th><th>meaning</th></tr>",
        esc(&r.destination),
        esc(&r.matching.replace('_', " "))
    );
    for c in &r.categories {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(c.id),
            thousands(c.objects),
            human_bytes(c.bytes),
            esc(c.meaning)
        );
    }
    let _ = write!(
        out,
        "<tr><td>total</td><td>{}</td><td>{}</td><td></td></tr></table>",
        thousands(r.total.objects),
        human_bytes(r.total.bytes)
    );
    for (id, keys) in &r.examples {
        let shown: Vec<String> = keys.iter().map(|k| esc(k)).collect();
        let _ = write!(
            out,
            "<p class=\"note\">{}: {}</p>",
            esc(id),
            shown.join(", ")
        );
    }
    for n in &r.notes {
        let _ = write!(out, "<p class=\"note\">Note: {}</p>", esc(n));
    }
    out.push_str("</div>");
}

/// The doctor's rows: one per cause, status, rule and destination, with the fix.
fn why_section(out: &mut String, why: &crate::doctor::diagnose::Diagnosis) {
    out.push_str("<h2>Why (s3inv doctor)</h2><div class=\"panel\">");
    if why.rows.is_empty() {
        out.push_str("<p class=\"note\">Every object in scope is COMPLETED.</p>");
    } else {
        out.push_str("<table><tr><th>cause</th><th>status</th><th>rule</th><th>destination</th><th>objects</th><th>bytes</th><th>confidence</th><th>fix</th></tr>");
        for row in &why.rows {
            let _ = write!(
                out,
                "<tr><td title=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&row.title),
                esc(&row.cause),
                esc(&row.status),
                esc(row.rule.as_deref().unwrap_or("-")),
                esc(row.destination.as_deref().unwrap_or("-")),
                thousands(row.objects),
                human_bytes(row.bytes),
                esc(&row.confidence),
                esc(&row.fix)
            );
        }
        out.push_str("</table>");
    }
    for f in &why.findings {
        let _ = write!(out, "<p class=\"note\">Finding: {}</p>", esc(&f.message));
    }
    for n in &why.not_checked {
        let _ = write!(out, "<p class=\"note\">Not checked: {}</p>", esc(n));
    }
    out.push_str("</div>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(esc("tab\there"), "tab\\u{9}here");
    }
}
