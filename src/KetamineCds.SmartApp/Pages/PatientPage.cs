using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Clinical.Rules;
using KetamineCds.SmartApp.Data;

namespace KetamineCds.SmartApp.Pages;

/// <summary>
/// The page for the launched patient. It formats what the clinical library computed (findings, therapies, outcome
/// summary, the benzodiazepine calculation) and never computes a clinical number itself. Every number is labelled as
/// the patient's (from the EHR record) or the article's.
/// </summary>
public sealed class PatientPage(EvidenceText evidence, OutcomeDefinitions definitions)
{
    public string Render(PatientPageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Layout.Page(model.Patient.Name, h =>
        {
            Header(h, model);
            Focus(h, model);
            Summary(h, model);
            Course(h, model);
            Medications(h, model);
            EvidenceBeside(h, model);
            NotRead(h, model);
        });
    }

    private static void Header(Html h, PatientPageModel m)
    {
        var p = m.Patient;
        h.Raw("<section class=\"patient\" aria-labelledby=\"patient-name\">")
            .El("h1", p.Name, ("id", "patient-name"))
            .Raw("<dl class=\"facts\">")
            .El("dt", "Age").El("dd", p.AgeYears is { } age ? $"{age} years" : p.BirthDate is { } b ? $"born {b}" : "not recorded")
            .El("dt", "Sex").El("dd", p.Sex ?? "not recorded")
            .El("dt", "Birth date").El("dd", p.BirthDate ?? "not recorded")
            .Raw("</dl>");
        h.Raw("<h2 class=\"h-course\">Ketamine/esketamine course found</h2><ul class=\"course\">");
        foreach (var entry in m.KetamineEntries)
        {
            var route = entry.Fact.Route ?? entry.Product?.Route;
            h.Raw("<li>").El("strong", entry.Fact.DisplayName)
                .Text($" ({entry.Ingredient.Name}; route: {route ?? "not stated in the record"}; status {entry.Fact.Status}")
                .Text(entry.Fact.EffectiveStart is { } start ? $"; recorded from {Html.Date(start)}" : "")
                .Text(")").Raw("</li>");
        }

        h.Raw("</ul>");
        var dates = m.Evaluation.TreatmentDates;
        h.El("p", dates.Count > 0
            ? $"Treatments inferred from the record: {dates.Count}, first {Html.Date(dates[0])}, last {Html.Date(dates[^1])} " +
              "(each day with a CADSS score counts as a treatment session, and the course start as the first treatment)."
            : "No treatment dates could be inferred (no CADSS sessions and no course start in the record).", ("class", "note"));
        h.Raw("<p class=\"legend\"><span class=\"src src-patient\">Patient</span> numbers come from this patient's EHR record; " +
              "<span class=\"src src-article\">Article</span> numbers come from Joseph et al. 2023.</p>");
        h.Raw("</section>");
    }

    private static void Focus(Html h, PatientPageModel m)
    {
        if (m.FocusFinding is not { } code)
        {
            return;
        }

        h.Raw("<p class=\"focus\" role=\"note\">Opened from the card about ")
            .El("a", FindingTitle(code), ("href", "#" + code))
            .Raw(".</p>");
    }

    private static void Summary(Html h, PatientPageModel m)
    {
        h.Raw("<section aria-labelledby=\"h-summary\"><h2 id=\"h-summary\">What the service found</h2><ul class=\"findings\">");
        if (m.Evaluation.Findings.Count == 0)
        {
            h.El("li", "No lamotrigine or benzodiazepine finding for this patient.");
        }

        foreach (var finding in m.Evaluation.Findings)
        {
            h.Raw("<li>").El("a", FindingTitle(finding.Code), ("href", "#" + finding.Code)).Raw(": ").Text(FindingLine(finding)).Raw("</li>");
        }

        h.Raw("</ul></section>");
    }

    private static string FindingTitle(string code) => code switch
    {
        FindingCodes.LamotrigineConcurrent => "Lamotrigine taken concurrently",
        FindingCodes.BenzodiazepineThreshold => "Benzodiazepines at or above the study's limit",
        FindingCodes.BenzodiazepineBorderline => "Benzodiazepines near the study's limit",
        FindingCodes.BenzodiazepineDoseUnknown => "Benzodiazepine dose not determined",
        FindingCodes.KetamineCourse => "Ketamine/esketamine course",
        FindingCodes.PatientDataUnreadable => "Records that could not be read",
        _ => code,
    };

    private static string FindingLine(Finding finding) => finding switch
    {
        LamotrigineFinding l => l.MgPerDay is { } mg
            ? $"{Html.Number(mg)} mg/day (patient), {Category(l.Category)} dose"
            : "daily dose could not be determined",
        BenzodiazepineFinding b when b.Code == FindingCodes.BenzodiazepineDoseUnknown =>
            $"{string.Join(", ", b.Assessment.NotCounted.Where(x => x.Therapy.Ingredient.Class == DrugClass.Benzodiazepine).Select(x => x.Therapy.Ingredient.Name).Distinct())} not counted",
        BenzodiazepineFinding b => $"{Html.Number(b.Assessment.TotalPrimary)} and {Html.Number(b.Assessment.TotalAlternate)} mg/day lorazepam equivalents under the two tables (patient)",
        KetamineCourseFinding c => c.Outcomes.Qids.Latest is { } latest ? $"latest QIDS-SR16 {Html.Number(latest)} (patient)" : "assessment scores",
        UnreadableDataFinding u => $"{u.UnreadableResources} records",
        _ => "",
    };

    private static string Category(LamotrigineDoseCategory category) => category switch
    {
        LamotrigineDoseCategory.Low => "low",
        LamotrigineDoseCategory.Standard => "standard",
        _ => "unknown",
    };

    private void Course(Html h, PatientPageModel m)
    {
        h.Raw($"<section aria-labelledby=\"h-course\" id=\"{FindingCodes.KetamineCourse}\"><h2 id=\"h-course\">QIDS-SR16 and CADSS over the course</h2>");
        if (!m.ObservationsAvailable)
        {
            h.El("p", "The patient's assessment Observations could not be read from the FHIR server, so no QIDS-SR16 or CADSS course is shown.", ("class", "warning"));
            h.Raw("</section>");
            return;
        }

        var summary = m.Outcomes;
        if (summary is null || !summary.HasScores)
        {
            h.El("p", "No QIDS-SR16 or CADSS scores were found in the record.");
            h.Raw("</section>");
            return;
        }

        Qids(h, summary.Qids);
        Cadss(h, summary, m);
        h.Raw("</section>");
    }

    private void Qids(Html h, QidsOutcome q)
    {
        h.Raw("<h3>QIDS-SR16 (depression, self-report, 0-27) <span class=\"src src-patient\">Patient</span></h3>");
        if (q.BaselineScore is not { } baseline)
        {
            h.El("p", "No QIDS-SR16 score was found in the record.");
            return;
        }

        var points = new List<ChartPoint> { new($"baseline\n{Html.Date(baseline.When)}", baseline.Score, $"Baseline {Html.Number(baseline.Score)} on {Html.Date(baseline.When)}") };
        points.AddRange(q.Series.Select(s => new ChartPoint($"T{s.TreatmentNumber}\n{Html.Date(s.Score.When)}", s.Score.Score,
            $"After treatment {s.TreatmentNumber}: {Html.Number(s.Score.Score)} on {Html.Date(s.Score.When)}")));
        var description = $"Baseline {Html.Number(baseline.Score)}; " +
                          string.Join("; ", q.Series.Select(s => $"after treatment {s.TreatmentNumber} {Html.Number(s.Score.Score)}")) +
                          $". Latest {Html.Number(q.Latest)}. Response on the latest score: {Html.YesNo(q.Response)}; remission on the latest score: {Html.YesNo(q.Remission)}.";
        h.Raw("<figure class=\"chart-figure\">");
        Charts.Qids(h, "qids-chart", points, baseline.Score, definitions, description);
        h.Raw("<figcaption>").Text("This patient's QIDS-SR16 scores: baseline and the first score after each treatment. The shaded band is remission " +
                                   $"({Html.Number(definitions.RemissionMaxScore)} or less); the dashed line is response ({Html.Number(definitions.ResponseMinPercentReduction)}% below baseline), as the article defines them.")
            .Raw("</figcaption></figure>");

        h.Raw("<dl class=\"facts outcome\">")
            .El("dt", "Baseline").El("dd", $"{Html.Number(baseline.Score)} on {Html.Date(baseline.When)} ({Basis(q.BaselineBasis)})", ("data-outcome", "qids-baseline"))
            .El("dt", "Latest").El("dd", q.LatestScore is { } latest ? $"{Html.Number(latest.Score)} on {Html.Date(latest.When)}" : "not available", ("data-outcome", "qids-latest"))
            .El("dt", "Change from baseline").El("dd", q.PercentChange is { } pc ? $"{Html.WithSign(pc)}%" : "cannot be computed (no later score, or a baseline of 0)", ("data-outcome", "qids-change"))
            .El("dt", "Response on the latest score").El("dd", Html.YesNo(q.Response), ("data-outcome", "response-latest"))
            .El("dt", "Response at any point").El("dd", Html.YesNo(q.ResponseAtAnyPoint), ("data-outcome", "response-any"))
            .El("dt", "Remission on the latest score").El("dd", Html.YesNo(q.Remission), ("data-outcome", "remission-latest"))
            .El("dt", "Remission at any point").El("dd", Html.YesNo(q.RemissionAtAnyPoint), ("data-outcome", "remission-any"))
            .Raw("</dl>");

        h.Raw("<div class=\"table-wrap\"><table id=\"qids-table\">").El("caption", "QIDS-SR16 scores (table view of the chart; patient's record)")
            .Raw("<thead><tr><th scope=\"col\">Point</th><th scope=\"col\">Date</th><th scope=\"col\">Score</th><th scope=\"col\">Change from baseline</th></tr></thead><tbody>");
        h.Raw("<tr>").El("th", "Baseline", ("scope", "row")).El("td", Html.Date(baseline.When)).El("td", Html.Number(baseline.Score)).El("td", "").Raw("</tr>");
        foreach (var s in q.Series)
        {
            h.Raw("<tr>").El("th", $"After treatment {s.TreatmentNumber} ({Html.Date(s.TreatmentDate)})", ("scope", "row"))
                .El("td", Html.Date(s.Score.When)).El("td", Html.Number(s.Score.Score))
                .El("td", s.PercentChange is { } c ? $"{Html.WithSign(c)}%" : "not computed").Raw("</tr>");
        }

        h.Raw("</tbody></table></div>");
        h.El("p", $"{q.Count} QIDS-SR16 score(s) used from the record.", ("class", "note"));
    }

    private static string Basis(BaselineBasis? basis) => basis switch
    {
        BaselineBasis.LastBeforeFirstTreatment => "the last score before the first treatment",
        BaselineBasis.EarliestNoTreatmentDates => "the earliest score; no treatment dates are known",
        BaselineBasis.EarliestAfterTreatmentStarted => "the earliest score, already after treatment started",
        _ => "basis unknown",
    };

    private static void Cadss(Html h, OutcomeSummary summary, PatientPageModel m)
    {
        var c = summary.Cadss;
        h.Raw("<h3>CADSS (dissociation, clinician-administered, 0-92) <span class=\"src src-patient\">Patient</span></h3>");
        var excluded = summary.Excluded.Select(e => e.Reference).ToHashSet(StringComparer.Ordinal);
        var sessions = m.Scores.Where(s => s.Kind == AssessmentKind.Cadss && !excluded.Contains(s.Reference)).OrderBy(s => s.When).ToList();
        if (sessions.Count == 0)
        {
            h.El("p", "No CADSS score was found in the record.");
            return;
        }

        var points = sessions.Select((s, i) => new ChartPoint($"S{i + 1}\n{Html.Date(s.When)}", s.Score, $"Session {i + 1} on {Html.Date(s.When)}: {Html.Number(s.Score)}")).ToList();
        h.Raw("<figure class=\"chart-figure\">");
        Charts.Cadss(h, "cadss-chart", points,
            $"CADSS per session: {string.Join("; ", points.Select(p => p.Description))}. Mean {Html.Number(c.Mean)}.");
        h.Raw("<figcaption>").Text("This patient's CADSS total at each treatment session.").Raw("</figcaption></figure>");
        h.Raw("<dl class=\"facts outcome\">")
            .El("dt", "Mean").El("dd", $"{Html.Number(c.Mean)} over {c.Count} session(s)", ("data-outcome", "cadss-mean"))
            .El("dt", "Latest").El("dd", c.LatestScore is { } l ? $"{Html.Number(l.Score)} on {Html.Date(l.When)}" : "not available")
            .Raw("</dl>");
        h.Raw("<div class=\"table-wrap\"><table id=\"cadss-table\">").El("caption", "CADSS per session (table view of the chart; patient's record)")
            .Raw("<thead><tr><th scope=\"col\">Session</th><th scope=\"col\">Date</th><th scope=\"col\">Score</th></tr></thead><tbody>");
        for (var i = 0; i < sessions.Count; i++)
        {
            h.Raw("<tr>").El("th", $"Session {i + 1}", ("scope", "row")).El("td", Html.Date(sessions[i].When)).El("td", Html.Number(sessions[i].Score)).Raw("</tr>");
        }

        h.Raw("</tbody></table></div>");
    }

    private void Medications(Html h, PatientPageModel m)
    {
        h.Raw("<section aria-labelledby=\"h-medications\" id=\"medications\"><h2 id=\"h-medications\">Psychotropic medications recognized <span class=\"src src-patient\">Patient</span></h2>");
        var therapies = m.Evaluation.Therapies;
        if (therapies.Count == 0)
        {
            h.El("p", "No lamotrigine, benzodiazepine or Z-drug was found among the patient's current medications.");
        }
        else
        {
            h.Raw("<div class=\"table-wrap\"><table id=\"medications-table\">").El("caption", "Daily doses from the patient's record, and how each was derived")
                .Raw("<thead><tr><th scope=\"col\">Medication</th><th scope=\"col\">Daily dose</th><th scope=\"col\">How derived</th><th scope=\"col\">Notes</th></tr></thead><tbody>");
            foreach (var t in therapies)
            {
                h.Raw("<tr>").Raw("<th scope=\"row\">").Text(t.DisplayName).Raw("<br><span class=\"muted\">").Text($"{t.Ingredient.Name}, {ClassName(t.Ingredient.Class)}").Raw("</span></th>")
                    .El("td", Dose(t.Dose))
                    .El("td", t.Dose.IsKnown ? Derivation(t.Dose) : "not determined")
                    .El("td", Notes(t)).Raw("</tr>");
            }

            h.Raw("</tbody></table></div>");
        }

        Lamotrigine(h, m);
        Benzodiazepines(h, m);
        h.Raw("</section>");
    }

    private static string ClassName(DrugClass c) => c switch
    {
        DrugClass.Lamotrigine => "anticonvulsant / mood stabilizer",
        DrugClass.Benzodiazepine => "benzodiazepine",
        DrugClass.ZDrug => "Z-drug (not a benzodiazepine)",
        _ => c.ToString(),
    };

    private static string Dose(DailyDose dose) => dose.MgPerDay is { } mg
        ? $"{Html.Number(mg)} mg/day{(dose.IsUpTo ? " (up to)" : "")}"
        : "could not be determined";

    public static string Derivation(DailyDose dose)
    {
        ArgumentNullException.ThrowIfNull(dose);
        var how = string.Join(", ", dose.Derivations.Select(d => d switch
        {
            DoseDerivation.Structured => "structured dosage",
            DoseDerivation.ProductStrength => "product strength",
            DoseDerivation.ParsedText => "text sig",
            DoseDerivation.PrnMaximum => "PRN maximum",
            DoseDerivation.RangeHighEnd => "range high end",
            DoseDerivation.FrequencyMaximum => "frequency maximum",
            _ => d.ToString(),
        }));
        return string.IsNullOrEmpty(dose.Calculation) ? how : $"{how}: {dose.Calculation}";
    }

    private static string Notes(Therapy t)
    {
        var notes = new List<string>();
        if (t.Dose.UnknownReason is { } reason)
        {
            notes.Add($"Dose not determined: {reason}. Not counted as zero.");
        }

        if (t.ReconciliationNote is { } note)
        {
            notes.Add(note.EndsWith('.') ? note : note + ".");
        }

        notes.Add($"From {string.Join(", ", t.Entries.Select(e => e.Fact.Reference))}");
        return string.Join(" ", notes);
    }

    private void Lamotrigine(Html h, PatientPageModel m)
    {
        if (m.Evaluation.Findings.OfType<LamotrigineFinding>().FirstOrDefault() is not { } l)
        {
            return;
        }

        var cut = Html.Number(l.StandardDoseMinMgPerDay);
        h.Raw($"<div class=\"finding\" id=\"{FindingCodes.LamotrigineConcurrent}\" tabindex=\"-1\"><h3>Lamotrigine</h3><dl class=\"facts\">")
            .El("dt", "Daily dose (patient)").El("dd", l.MgPerDay is { } mg ? $"{Html.Number(mg)} mg/day" : "could not be determined", ("data-figure", "lamotrigine-mg-per-day"))
            .El("dt", "Dose category").El("dd", Category(l.Category), ("data-figure", "lamotrigine-category"))
            .Raw("</dl>")
            .El("p", $"The article's categories: low under {cut} mg/day, standard {cut} mg/day or more (Methods 2.3). " +
                     $"In the study, patients continued lamotrigine throughout ketamine/esketamine treatment; doses ranged from {evidence.Fig("case-series-lamotrigine-min-mg-per-day")} " +
                     $"to {evidence.Fig("case-series-lamotrigine-max-mg-per-day")} mg/day in the case series (article).", ("class", "note"))
            .Raw("</div>");
    }

    private void Benzodiazepines(Html h, PatientPageModel m)
    {
        if (m.Benzodiazepines is not { } a)
        {
            return;
        }

        var codes = m.Evaluation.Findings.OfType<BenzodiazepineFinding>().Select(f => f.Code).Distinct().ToList();
        var primary = evidence.Knowledge.PrimaryEquivalence;
        var alternate = evidence.Knowledge.AlternateEquivalence;
        var primaryName = ShortTitle(primary);
        var alternateName = ShortTitle(alternate);
        h.Raw($"<div class=\"finding\" id=\"{(codes.Count > 0 ? codes[0] : "benzodiazepines")}\" tabindex=\"-1\">");
        foreach (var extra in codes.Skip(1))
        {
            h.Raw($"<span id=\"{extra}\"></span>");
        }

        h.Raw("<h3>Benzodiazepines in lorazepam equivalents</h3>");
        h.Raw("<div class=\"table-wrap\"><table id=\"benzodiazepine-table\">").El("caption", $"Lorazepam equivalents under {primaryName} and {alternateName} (doses from the patient's record; factors from the tables)")
            .Raw("<thead><tr><th scope=\"col\">Medication</th><th scope=\"col\">Daily dose</th>")
            .El("th", $"{primaryName}: factor, lorazepam eq.", ("scope", "col"))
            .El("th", $"{alternateName}: factor, lorazepam eq.", ("scope", "col"))
            .Raw("</tr></thead><tbody>");
        foreach (var line in a.Lines)
        {
            h.Raw("<tr>").El("th", line.Therapy.DisplayName, ("scope", "row"))
                .El("td", line.MgPerDay is { } mg ? $"{Html.Number(mg)} mg/day ({Derivation(line.Dose)})" : "could not be determined");
            if (line.Counted)
            {
                h.El("td", $"{Html.Number(line.PrimaryFactor)} mg = 1 mg lorazepam; {Html.Number(line.LorazepamEquivalentMgPerDay)} mg/day")
                    .El("td", $"{Html.Number(line.AlternateFactor)} mg = 1 mg lorazepam{(line.AlternateFactorFromPrimary ? " (not in this table; primary factor used)" : "")}; {Html.Number(line.LorazepamEquivalentMgPerDayAlternate)} mg/day");
            }
            else
            {
                h.Raw("<td colspan=\"2\">").Text($"Not counted in the total: {line.NotCountedReason}.").Raw("</td>");
            }

            h.Raw("</tr>");
        }

        var partial = a.Lines.Any(l => !l.Counted && l.Therapy.Ingredient.Class == DrugClass.Benzodiazepine);
        h.Raw("</tbody><tfoot><tr>").El("th", partial ? "Total of the counted medications" : "Total", ("scope", "row")).El("td", "")
            .El("td", a.Lines.Any(l => l.Counted) ? $"{Html.Number(a.TotalPrimary)} mg/day" : "not computed", ("data-figure", "lorazepam-total-primary"))
            .El("td", a.Lines.Any(l => l.Counted) ? $"{Html.Number(a.TotalAlternate)} mg/day" : "not computed", ("data-figure", "lorazepam-total-alternate"))
            .Raw("</tr></tfoot></table></div>");
        var threshold = Html.Number(a.ThresholdMgPerDay);
        h.El("p", $"The study required less than {evidence.Fig("benzodiazepine-protocol-max-lorazepam-mg-per-day")} mg/day lorazepam equivalents before ketamine/esketamine (article, Methods 2.1)" +
                  (a.ThresholdIsSiteSetting ? $"; this site set its threshold to {threshold} mg/day." : ".") +
                  " Equivalence tables disagree, by up to four-fold for some drugs, so both totals are shown.", ("class", "note"));
        h.El("p", "Abrupt benzodiazepine withdrawal carries its own risks; any change to a benzodiazepine is a clinical decision made with the patient.", ("class", "note"));
        h.Raw("</div>");
    }

    private static string ShortTitle(EquivalenceTable table) => table.Title.Split(" (", 2)[0];

    private void EvidenceBeside(Html h, PatientPageModel m)
    {
        var q = m.Outcomes?.Qids;
        var c = m.Outcomes?.Cadss;
        var onLamotrigine = m.Evaluation.Therapies.Any(t => t.Ingredient.Class == DrugClass.Lamotrigine);
        h.Raw("<section aria-labelledby=\"h-evidence\" id=\"evidence\"><h2 id=\"h-evidence\">The patient beside the study</h2>");
        h.El("p", onLamotrigine
            ? "This patient takes lamotrigine: the study's 'with lamotrigine' column is the comparable group."
            : "This patient does not take lamotrigine: the study's 'without lamotrigine' column is the comparable group.");
        h.Raw("<div class=\"table-wrap\"><table id=\"evidence-table\">").El("caption", $"This patient's numbers (EHR record) beside the article's ({evidence.Evidence.ShortCitation})")
            .Raw("<thead><tr><th scope=\"col\">Measure</th><th scope=\"col\"><span class=\"src src-patient\">Patient</span></th>" +
                 "<th scope=\"col\"><span class=\"src src-article\">Article</span> with lamotrigine</th><th scope=\"col\"><span class=\"src src-article\">Article</span> without</th><th scope=\"col\">p (article)</th></tr></thead><tbody>");
        Row(h, "Response (QIDS-SR16 down at least 50%)", q is null ? "no scores" : $"latest: {Html.YesNo(q.Response)}; at any point: {Html.YesNo(q.ResponseAtAnyPoint)}",
            evidence.Pct("response-lamotrigine-percent"), evidence.Pct("response-no-lamotrigine-percent"), evidence.P("response-p"));
        Row(h, "Remission (QIDS-SR16 5 or less)", q is null ? "no scores" : $"latest: {Html.YesNo(q.Remission)}; at any point: {Html.YesNo(q.RemissionAtAnyPoint)}",
            evidence.Pct("remission-lamotrigine-percent"), evidence.Pct("remission-no-lamotrigine-percent"), evidence.P("remission-p"));
        Row(h, "QIDS-SR16 change", q?.PercentChange is { } pc ? $"{Html.WithSign(pc)}% baseline to latest" : "not computed",
            $"{evidence.Fig("qids-change-treatment1-lamotrigine-percent")}% after treatment 1 (mean)", $"{evidence.Fig("qids-change-treatment1-no-lamotrigine-percent")}% after treatment 1 (mean)", evidence.P("qids-change-treatment1-p"));
        Row(h, "CADSS (dissociation), mean", c?.Mean is { } mean ? $"{Html.Number(mean)} over {c.Count} session(s)" : "no scores",
            evidence.Se("cadss-mean-lamotrigine"), evidence.Se("cadss-mean-no-lamotrigine"), evidence.P("cadss-p"));
        Row(h, "IV ketamine only: CADSS, mean of the first five treatments", IsIv(m) ? "patient is on IV ketamine (see CADSS above)" : "not on IV ketamine: this analysis does not apply",
            evidence.Fig("iv-cadss-mean-first-five-lamotrigine"), evidence.Fig("iv-cadss-mean-first-five-no-lamotrigine"), evidence.P("iv-cadss-lamotrigine-effect-p"));
        h.Raw("</tbody></table></div>");
        h.Raw("<p class=\"route-finding\"><strong>Route matters:</strong> ")
            .Text($"the study's dissociation signal (less dissociation with lamotrigine, {evidence.P("iv-cadss-lamotrigine-effect-p")}) was found only in the IV ketamine analysis; " +
                  $"there was no effect on QIDS-SR16 change in that analysis ({evidence.P("iv-qids-lamotrigine-effect-p")}), and none was shown for intranasal esketamine.")
            .Raw("</p>");
        h.Raw("<h3>Limitations of the study</h3>").El("p", evidence.Evidence.Limitations)
            .El("p", "The authors conclude there is insufficient evidence that continuing lamotrigine attenuates the antidepressant effect; " +
                     "a small observational study that found no significant difference cannot rule one out.")
            .Raw("<p>").El("a", "The full evidence summary, citation and correction", ("href", "/app/evidence")).Raw("</p>");
        h.Raw("</section>");
    }

    private static bool IsIv(PatientPageModel m) =>
        m.KetamineEntries.Any(e => (e.Fact.Route ?? e.Product?.Route) is { } r && r.Contains("intravenous", StringComparison.OrdinalIgnoreCase));

    private static void Row(Html h, string label, string patient, string with, string without, string p) =>
        h.Raw("<tr>").El("th", label, ("scope", "row")).El("td", patient).El("td", with).El("td", without).El("td", p).Raw("</tr>");

    private static void NotRead(Html h, PatientPageModel m)
    {
        var items = new List<string>();
        if (m.UnreadableResources > 0)
        {
            items.Add($"{m.UnreadableResources} record(s) could not be read (unreadable, naming no medication, or belonging to another patient) and are not included.");
        }

        if (m.ReadWithErrors > 0)
        {
            items.Add($"{m.ReadWithErrors} record(s) had format errors and were read as far as possible.");
        }

        if (!m.ObservationsAvailable)
        {
            items.Add("The assessment Observations (QIDS-SR16, CADSS) could not be read from the FHIR server.");
        }

        foreach (var e in m.Outcomes?.Excluded ?? [])
        {
            items.Add($"{e.Reference} ({(e.Kind is { } k ? k == AssessmentKind.QidsSr16 ? "QIDS-SR16" : "CADSS" : "assessment")}) was not used: {Reason(e.Reason)}, {e.Detail}.");
        }

        foreach (var t in m.Evaluation.Therapies.Where(t => !t.Dose.IsKnown))
        {
            items.Add($"{t.DisplayName}: the daily dose could not be determined ({t.Dose.UnknownReason}); it is named here and never counted as zero.");
        }

        h.Raw($"<section aria-labelledby=\"h-not-read\" id=\"{FindingCodes.PatientDataUnreadable}\"><h2 id=\"h-not-read\">What could not be read</h2>");
        if (items.Count == 0)
        {
            h.El("p", "Every record read was usable.");
        }
        else
        {
            h.Raw("<ul>");
            foreach (var item in items)
            {
                h.El("li", item);
            }

            h.Raw("</ul>");
        }

        h.El("p", $"Read from the EHR at {m.AsOf.UtcDateTime:yyyy-MM-dd HH:mm} UTC.", ("class", "note"));
        h.Raw("</section>");
    }

    private static string Reason(ExclusionReason reason) => reason switch
    {
        ExclusionReason.OutOfRange => "out of range",
        ExclusionReason.FailedValidation => "failed validation",
        ExclusionReason.Unreadable => "unreadable",
        _ => reason.ToString(),
    };
}
