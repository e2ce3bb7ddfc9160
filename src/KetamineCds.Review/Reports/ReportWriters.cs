using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace KetamineCds.Review.Reports;

/// <summary>Writes the review as report.html (sortable, filterable, printable; self-contained), rows.csv, rows.json and summary.json.</summary>
public static class ReportWriters
{
    public const string Html = "report.html";
    public const string Csv = "rows.csv";
    public const string Json = "rows.json";
    public const string Summary = "summary.json";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static async Task WriteAllAsync(ReviewResult result, string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, Html), RenderHtml(result), Encoding.UTF8, cancellationToken);
        await using (var csv = new StreamWriter(Path.Combine(directory, Csv), false, new UTF8Encoding(false)))
        {
            WriteCsv(result.Rows, csv);
        }

        await using (var json = File.Create(Path.Combine(directory, Json)))
        {
            await JsonSerializer.SerializeAsync(json, result.Rows, JsonOptions, cancellationToken);
        }

        await using (var summary = File.Create(Path.Combine(directory, Summary)))
        {
            await JsonSerializer.SerializeAsync(summary, result.Summary, JsonOptions, cancellationToken);
        }
    }

    public static readonly IReadOnlyList<string> CsvColumns =
    [
        "patient_id", "patient_name", "birth_date", "ketamine", "lamotrigine", "lamotrigine_mg_per_day", "lamotrigine_category",
        "benzodiazepines", "lorazepam_eq_mg_per_day_primary", "lorazepam_eq_mg_per_day_alternate", "benzodiazepine_threshold_mg_per_day",
        "doses_not_determined", "qids_course", "qids_baseline", "qids_latest", "qids_percent_change", "qids_response", "qids_remission",
        "findings", "latest_feedback", "unreadable_records",
    ];

    public static void WriteCsv(IEnumerable<ReviewRow> rows, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteLine(string.Join(',', CsvColumns));
        foreach (var r in rows)
        {
            string[] fields =
            [
                r.PatientId, r.PatientName ?? "", r.BirthDate ?? "", string.Join("; ", r.Ketamine), string.Join("; ", r.Lamotrigine),
                Num(r.LamotrigineMgPerDay), r.LamotrigineCategory ?? "",
                string.Join("; ", r.Benzodiazepines.Select(BenzoText)), Num(r.BenzodiazepineTotalPrimary), Num(r.BenzodiazepineTotalAlternate),
                Num(r.BenzodiazepineThresholdMgPerDay),
                string.Join("; ", r.UndeterminedDoses.Select(u => $"{u.Medication}: {u.Reason}")),
                r.Qids.Availability, Num(r.Qids.Baseline), Num(r.Qids.Latest), Num(r.Qids.PercentChange), Bool(r.Qids.Response), Bool(r.Qids.Remission),
                string.Join(' ', r.Findings), string.Join("; ", r.Feedback.Select(f => $"{f.Key}: {f.Value}")),
                r.UnreadableRecords.ToString(Inv),
            ];
            writer.WriteLine(string.Join(',', fields.Select(Quote)));
        }
    }

    /// <summary>RFC 4180 quoting; a leading = + - @ is prefixed so a spreadsheet never runs a cell as a formula.</summary>
    private static string Quote(string value)
    {
        if (value.Length > 0 && "=+-@\t\r".Contains(value[0], StringComparison.Ordinal) && !decimal.TryParse(value, NumberStyles.Number, Inv, out _))
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
    }

    private static string Num(decimal? value) => value is { } v ? v.ToString("0.###", Inv) : "";

    private static string Bool(bool? value) => value is { } v ? (v ? "yes" : "no") : "";

    private static string BenzoText(BenzodiazepineRow b) =>
        b.NotCountedReason is { } reason
            ? $"{b.Medication}: not counted ({reason})"
            : $"{b.Medication}: {Num(b.MgPerDay)} mg/day = {Num(b.LorazepamEquivalentMgPerDay)} / {Num(b.LorazepamEquivalentMgPerDayAlternate)} mg/day lorazepam eq.";

    private static string E(string? text) => WebUtility.HtmlEncode(text ?? "");

    public static string RenderHtml(ReviewResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var s = result.Summary;
        var h = new StringBuilder(64 * 1024 + result.Rows.Count * 1200);
        h.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        h.Append("<title>KetamineCds clinic review</title><style>").Append(Resource("report.css")).Append("</style></head><body>\n");
        h.Append("<h1>Clinic review: patients on ketamine or esketamine</h1>");
        h.Append(CultureInfo.InvariantCulture, $"<p class=\"meta\">As of {E(s.AsOf.ToString("yyyy-MM-dd HH:mm 'UTC'", Inv))} &middot; shard {E(s.Shard)} &middot; {s.PatientsOnKetamine} of {s.PatientsInShard} patients with records in this shard are on ketamine/esketamine &middot; {s.Files.Count} file(s), reviewed in {s.ElapsedSeconds.ToString("0.0", Inv)} s</p>");
        h.Append("<p class=\"phi\"><strong>Contains protected health information</strong> (patient ids, names, medications, scores). Keep it where the clinic keeps charts; do not e-mail it.</p>");
        h.Append("<p class=\"muted small\">Evaluated with the same rules as the KetamineCds cards (patient-view). Lorazepam equivalents under two tables: primary (Ashton) and alternate (VA/DoD 2021); they disagree, so both are shown. Evidence: Joseph et al. 2023 (a small observational study). These figures inform; the clinician decides.</p>\n");

        // Summary.
        h.Append("<h2>Summary</h2><div class=\"summary\">");
        Table(h, "Findings", s.Findings.Select(f => (f.Key, (long)f.Value)));
        Table(h, "Lamotrigine dose category", s.LamotrigineCategories.Select(f => (f.Key, (long)f.Value)));
        Table(h, "Records", [("read (all types)", s.ResourcesByType.Values.Sum()), ("could not be read", s.UnreadableRecords),
            ("not usable in reviewed patients", s.UnusableRecordsOfReviewedPatients), ("naming no patient", s.ResourcesNamingNoPatient.Values.Sum())]);
        Table(h, "Resources by type", s.ResourcesByType.Select(t => (t.Key, t.Value)));
        if (s.ResourcesNamingNoPatient.Count > 0)
        {
            Table(h, "Naming no patient (not reviewed)", s.ResourcesNamingNoPatient.Select(t => (t.Key, t.Value)));
        }

        h.Append("</div>");
        if (s.MissingResourceTypes.Count > 0 || s.Notes.Count > 0)
        {
            h.Append("<ul class=\"phi\" style=\"list-style:none\">");
            foreach (var m in s.MissingResourceTypes.Concat(s.Notes))
            {
                h.Append("<li>").Append(E(m)).Append("</li>");
            }

            h.Append("</ul>");
        }

        h.Append("<p class=\"muted small\">Latest feedback: ").Append(E(s.FeedbackSource)).Append(".</p>\n");

        // Rows.
        h.Append("<h2>Patients</h2>");
        h.Append("<div id=\"controls\" class=\"controls\" hidden><label>Filter <input id=\"filter-text\" type=\"search\" placeholder=\"id, name, medication...\"></label>");
        h.Append("<label>Finding <select id=\"filter-finding\"><option value=\"\">any</option>");
        foreach (var code in s.Findings.Keys)
        {
            h.Append("<option value=\"").Append(E(code)).Append("\">").Append(E(code)).Append("</option>");
        }

        h.Append("</select></label><span id=\"shown-count\" class=\"muted\"></span><button id=\"print\" type=\"button\">Print</button></div>\n");
        h.Append("<table class=\"rows\"><thead><tr><th>Patient</th><th>Ketamine / esketamine</th><th>Lamotrigine (mg/day, category)</th>");
        h.Append("<th>Benzodiazepines (lorazepam eq. mg/day: primary / alternate)</th><th>Doses not determined</th><th>QIDS-SR16 course</th>");
        h.Append("<th>Findings</th><th>Latest feedback</th><th>Unreadable records</th></tr></thead><tbody>\n");
        foreach (var r in result.Rows)
        {
            h.Append("<tr data-findings=\"").Append(E(string.Join(' ', r.Findings))).Append("\">");
            h.Append("<td data-sort=\"").Append(E(r.PatientId)).Append("\"><strong>").Append(E(r.PatientId)).Append("</strong>");
            if (r.PatientName is not null || r.BirthDate is not null)
            {
                h.Append("<br><span class=\"small\">").Append(E(r.PatientName)).Append(r.BirthDate is null ? "" : $" &middot; {E(r.BirthDate)}").Append("</span>");
            }

            h.Append("</td><td>").Append(List(r.Ketamine)).Append("</td>");
            h.Append("<td data-sort=\"").Append(Num(r.LamotrigineMgPerDay)).Append("\">");
            if (r.LamotrigineCategory is null)
            {
                h.Append("<span class=\"muted\">none</span>");
            }
            else
            {
                h.Append(r.LamotrigineMgPerDay is { } mg ? $"<strong>{Num(mg)}</strong> mg/day" : "<span class=\"unknown\">dose not determined</span>")
                    .Append(", ").Append(E(r.LamotrigineCategory)).Append("<br><span class=\"small\">").Append(E(string.Join("; ", r.Lamotrigine))).Append("</span>");
            }

            h.Append("</td><td data-sort=\"").Append(Num(r.BenzodiazepineTotalPrimary)).Append("\">");
            if (r.Benzodiazepines.Count == 0)
            {
                h.Append("<span class=\"muted\">none</span>");
            }
            else
            {
                h.Append("<ul class=\"lines small\">");
                foreach (var b in r.Benzodiazepines)
                {
                    h.Append("<li>").Append(E(b.Medication)).Append(": ");
                    h.Append(b.NotCountedReason is { } reason
                        ? $"<span class=\"unknown\">not counted ({E(reason)})</span>"
                        : $"{Num(b.MgPerDay)} mg/day &rarr; {Num(b.LorazepamEquivalentMgPerDay)} / {Num(b.LorazepamEquivalentMgPerDayAlternate)}");
                    h.Append("</li>");
                }

                h.Append("</ul>");
                var uncounted = r.Benzodiazepines.Count(b => b.NotCountedReason is not null);
                h.Append(r.BenzodiazepineTotalPrimary is null
                    ? "<span class=\"unknown\">No total: no dose could be counted</span>"
                    : string.Create(CultureInfo.InvariantCulture, $"Total <strong>{Num(r.BenzodiazepineTotalPrimary)}</strong> / <strong>{Num(r.BenzodiazepineTotalAlternate)}</strong>")
                      + (uncounted > 0 ? $" <span class=\"unknown\">(without {uncounted} not counted)</span>" : ""))
                    .Append(CultureInfo.InvariantCulture, $" (threshold {Num(r.BenzodiazepineThresholdMgPerDay)})");
            }

            h.Append("</td><td data-sort=\"").Append(r.UndeterminedDoses.Count.ToString(Inv)).Append("\">");
            h.Append(r.UndeterminedDoses.Count == 0 ? "" : "<ul class=\"lines small unknown\">" + string.Concat(r.UndeterminedDoses.Select(u => $"<li>{E(u.Medication)}: {E(u.Reason)}</li>")) + "</ul>");
            h.Append("</td><td data-sort=\"").Append(Num(r.Qids.PercentChange)).Append("\">");
            if (r.Qids.Availability == "available")
            {
                h.Append(CultureInfo.InvariantCulture, $"{Num(r.Qids.Baseline)} &rarr; {Num(r.Qids.Latest)}");
                if (r.Qids.PercentChange is { } pc)
                {
                    h.Append(CultureInfo.InvariantCulture, $" ({(pc > 0 ? "+" : "")}{Num(pc)}%)");
                }

                h.Append("<br><span class=\"small\">").Append(r.Qids.Response is { } resp ? (resp ? "response" : "no response") : "change not computable")
                    .Append(r.Qids.Remission is { } rem ? (rem ? ", remission" : ", no remission") : "")
                    .Append(CultureInfo.InvariantCulture, $"; {r.Qids.Scores} score(s)").Append(r.Qids.ExcludedScores > 0 ? $", {r.Qids.ExcludedScores} excluded" : "").Append("</span>");
            }
            else
            {
                h.Append("<span class=\"muted small\">").Append(E(r.Qids.Availability)).Append("</span>");
            }

            h.Append("</td><td>");
            foreach (var f in r.Findings)
            {
                h.Append("<span class=\"finding ").Append(E(f)).Append("\">").Append(E(f)).Append("</span>");
            }

            h.Append("</td><td class=\"small\">").Append(E(string.Join("; ", r.Feedback.Select(f => $"{f.Key}: {f.Value}").Distinct())))
                .Append("</td><td class=\"num\">").Append(r.UnreadableRecords.ToString(Inv)).Append("</td></tr>\n");
        }

        h.Append("</tbody></table>\n");
        if (s.UnreadableDetails.Count > 0)
        {
            h.Append("<h2>Records that could not be read</h2><p class=\"muted small\">Each was skipped and counted; the rest of the export was reviewed.</p><table class=\"rows\"><thead><tr><th>File</th><th>Line</th><th>Reason</th></tr></thead><tbody>");
            foreach (var u in s.UnreadableDetails)
            {
                h.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(u.File)}</td><td class=\"num\">{u.Line}</td><td>{E(u.Reason)}</td></tr>");
            }

            h.Append("</tbody></table>");
        }

        h.Append("<script>").Append(Resource("report.js")).Append("</script></body></html>\n");
        return h.ToString();
    }

    private static string List(IEnumerable<string> items) => string.Join("<br>", items.Select(E));

    private static void Table(StringBuilder h, string title, IEnumerable<(string Key, long Value)> rows)
    {
        h.Append("<table><thead><tr><th colspan=\"2\">").Append(E(title)).Append("</th></tr></thead><tbody>");
        var any = false;
        foreach (var (key, value) in rows)
        {
            any = true;
            h.Append("<tr><td>").Append(E(key)).Append("</td><td class=\"n\">").Append(value.ToString(Inv)).Append("</td></tr>");
        }

        if (!any)
        {
            h.Append("<tr><td class=\"muted\" colspan=\"2\">none</td></tr>");
        }

        h.Append("</tbody></table>");
    }

    private static string Resource(string name)
    {
        using var stream = typeof(ReportWriters).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The report resource {name} is missing from the build.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
