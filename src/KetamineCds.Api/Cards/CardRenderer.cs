using System.Text;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Knowledge;
using static KetamineCds.Api.Cards.Markdown;

namespace KetamineCds.Api.Cards;

/// <summary>What the renderer needs beyond the findings: data-quality facts to disclose on every card.</summary>
public sealed record RenderContext(int UnreadableResources, bool ObservationsAvailable, int ReadWithErrors = 0);

/// <summary>
/// Turns findings into CDS Hooks cards. Each number on a card is labelled as the patient's (from the record) or the
/// article's (Joseph et al. 2023). Cards inform; they never suggest stopping, tapering, holding or reducing
/// lamotrigine or a benzodiazepine, and carry no suggestions or actions.
/// </summary>
public sealed class CardRenderer(ClinicalKnowledge knowledge)
{
    private readonly EvidenceFigures _evidence = knowledge.Evidence;

    public IReadOnlyList<Card> Render(IEnumerable<Finding> findings, RenderContext context)
    {
        ArgumentNullException.ThrowIfNull(findings);
        ArgumentNullException.ThrowIfNull(context);
        return findings.Select(f => f switch
        {
            LamotrigineFinding l => Lamotrigine(l, context),
            BenzodiazepineFinding b => Benzodiazepine(b, context),
            UnreadableDataFinding u => Unreadable(u),
            KetamineCourseFinding k => Course(k, context),
            _ => throw new InvalidOperationException($"No card for finding {f.Code}."),
        }).ToList();
    }

    private Card Lamotrigine(LamotrigineFinding finding, RenderContext context)
    {
        var dose = finding.MgPerDay is { } mg ? $"{Number(mg)} mg/day" : "dose unknown";
        var category = finding.Category switch
        {
            LamotrigineDoseCategory.Low => "low dose",
            LamotrigineDoseCategory.Standard => "standard dose",
            _ => "dose category unknown",
        };
        var summary = Summary($"Lamotrigine {dose} ({category}): a small study found no significant difference in ketamine/esketamine response");

        var d = new StringBuilder();
        d.AppendLine("**This patient** (from the patient's record)").AppendLine();
        foreach (var therapy in finding.Therapies)
        {
            d.AppendLine($"- {Escape(therapy.DisplayName)}: {DoseText(therapy.Dose)}{Reconciliation(therapy)} ({References(therapy)})");
        }

        var cut = Number(finding.StandardDoseMinMgPerDay);
        d.AppendLine(finding.Category switch
        {
            LamotrigineDoseCategory.Unknown => $"- Dose category: unknown, because the daily dose could not be determined (the article's cut-off is {cut} mg/day).",
            _ => $"- Dose category: {category} (the article's cut-off: low < {cut} mg/day, standard >= {cut} mg/day).",
        });
        d.AppendLine();
        AppendOutcomes(d, finding.Outcomes, context);
        d.AppendLine($"**What the study found** (figures from the article: {Escape(_evidence.ShortCitation)})").AppendLine();
        d.AppendLine($"- Cohort: {Fig("cohort-n")} adults with treatment-resistant depression ({Fig("cohort-iv-ketamine-n")} IV racemic ketamine, " +
                     $"{Fig("cohort-in-esketamine-n")} intranasal esketamine); {Fig("cohort-lamotrigine-n")} took lamotrigine, {Fig("cohort-no-lamotrigine-n")} did not.");
        d.AppendLine($"- Response (>= 50% QIDS-SR reduction): {Pct("response-lamotrigine-percent")} with lamotrigine vs {Pct("response-no-lamotrigine-percent")} without ({P("response-p")}).");
        d.AppendLine($"- Remission (QIDS-SR <= 5): {Pct("remission-lamotrigine-percent")} vs {Pct("remission-no-lamotrigine-percent")} ({P("remission-p")}).");
        d.AppendLine($"- No lamotrigine x treatment-number interaction on QIDS-SR percent change ({P("qids-interaction-p")}) and no overall group effect ({P("qids-group-effect-p")}).");
        d.AppendLine($"- Dissociation (CADSS), mean (SE): {Se("cadss-mean-lamotrigine")} with lamotrigine vs {Se("cadss-mean-no-lamotrigine")} without ({P("cadss-p")}). " +
                     $"A signal of less dissociation, mainly with IV racemic ketamine: in IV-treated patients lamotrigine had an effect on CADSS ({P("iv-cadss-lamotrigine-effect-p")}; " +
                     $"mean over the first five treatments {Fig("iv-cadss-mean-first-five-lamotrigine")} vs {Fig("iv-cadss-mean-first-five-no-lamotrigine")}) but not on QIDS-SR change ({P("iv-qids-lamotrigine-effect-p")}).");
        d.AppendLine($"- Case series of {Fig("case-series-n")} patients who continued lamotrigine: {Pct("case-series-response-percent")} responded and {Pct("case-series-remission-percent")} remitted; " +
                     $"low-dose (n = {Fig("case-series-low-dose-n")}) and standard-dose (n = {Fig("case-series-standard-dose-n")}) patients did not differ significantly in QIDS-SR change.");
        d.AppendLine("- In the study, lamotrigine was continued throughout ketamine/esketamine treatment. The authors note that stopping it beforehand is " +
                     "common at some clinics without robust evidence, with a risk of mood destabilization.");
        d.AppendLine();
        d.AppendLine("**Limitations**").AppendLine();
        d.AppendLine($"- {Escape(_evidence.Limitations)}");
        d.AppendLine($"- Patients on lamotrigine took more psychotropics: {Sd("psychotropics-lamotrigine-mean")} vs {Sd("psychotropics-no-lamotrigine-mean")} ({P("psychotropics-p")}).");
        d.AppendLine("- The authors conclude there is insufficient evidence that continuing lamotrigine attenuates the antidepressant effect; " +
                     "a small observational study that found no significant difference cannot rule one out.");
        AppendClosing(d, context);

        return NewCard(FindingCodes.LamotrigineConcurrent, summary, "info", d, new KetamineCdsExtension
        {
            Finding = FindingCodes.LamotrigineConcurrent,
            LamotrigineMgPerDay = finding.MgPerDay,
            LamotrigineDoseCategory = finding.Category.ToString().ToLowerInvariant(),
            Medications = finding.Therapies.Select(t => Line(t)).ToList(),
            QidsSr = Qids(finding.Outcomes),
            Cadss = Cadss(finding.Outcomes),
            UnreadableResources = context.UnreadableResources > 0 ? context.UnreadableResources : null,
        });
    }

    private Card Course(KetamineCourseFinding finding, RenderContext context)
    {
        var q = finding.Outcomes.Qids;
        var c = finding.Outcomes.Cadss;
        var parts = new List<string>();
        if (q.Baseline is { } b && q.Latest is { } l && q.PercentChange is { } pc)
        {
            parts.Add($"QIDS-SR {Number(b)} to {Number(l)} ({Signed(pc)}%){(q.Remission == true ? ", remission" : q.Response == true ? ", response" : "")}");
        }
        else if (q.Latest is { } only)
        {
            parts.Add($"QIDS-SR {Number(only)}");
        }

        if (c.Mean is { } mean)
        {
            parts.Add($"CADSS mean {Number(mean)}");
        }

        var summary = parts.Count > 0
            ? $"Ketamine/esketamine course: {string.Join("; ", parts)} (patient's record)"
            : "Ketamine/esketamine course: assessment scores were excluded (see detail)";
        var d = new StringBuilder();
        AppendOutcomes(d, finding.Outcomes, context);
        d.AppendLine("**For comparison** (from the article)").AppendLine();
        d.AppendLine($"- In the study's cohort, {Pct("response-lamotrigine-percent")} of patients with lamotrigine and {Pct("response-no-lamotrigine-percent")} without responded " +
                     $"(>= {Fig("response-definition-percent-reduction")}% QIDS-SR reduction); {Pct("remission-lamotrigine-percent")} and {Pct("remission-no-lamotrigine-percent")} remitted " +
                     $"(QIDS-SR <= {Fig("remission-definition-max-qids")}).");
        d.AppendLine($"- Mean CADSS (SE) during treatment: {Se("cadss-mean-lamotrigine")} with lamotrigine vs {Se("cadss-mean-no-lamotrigine")} without.");
        d.AppendLine($"- {Escape(_evidence.Limitations)}");
        AppendClosing(d, context);
        return NewCard(FindingCodes.KetamineCourse, summary, "info", d, new KetamineCdsExtension
        {
            Finding = FindingCodes.KetamineCourse,
            QidsSr = Qids(finding.Outcomes),
            Cadss = Cadss(finding.Outcomes),
            UnreadableResources = context.UnreadableResources > 0 ? context.UnreadableResources : null,
        });
    }

    /// <summary>The patient's QIDS-SR/CADSS course, every number from the patient's Observations.</summary>
    private void AppendOutcomes(StringBuilder d, OutcomeSummary? outcomes, RenderContext context)
    {
        d.AppendLine("**This patient's course** (QIDS-SR16 and CADSS totals from the patient's record)").AppendLine();
        if (outcomes is null)
        {
            d.AppendLine(context.ObservationsAvailable
                ? "- No QIDS-SR16 or CADSS totals were found."
                : "- Not available: the patient's survey Observations were neither prefetched nor readable from the FHIR server.");
            d.AppendLine();
            return;
        }

        var q = outcomes.Qids;
        if (q.BaselineScore is { } baseline)
        {
            var basis = q.BaselineBasis switch
            {
                BaselineBasis.LastBeforeFirstTreatment => "last score before the course began",
                BaselineBasis.EarliestAfterTreatmentStarted => "earliest score, already on treatment",
                _ => "earliest score; the course start date is not known",
            };
            d.AppendLine($"- QIDS-SR16 baseline: {Number(baseline.Score)} on {Date(baseline.When)} ({basis}).");
        }

        if (q.LatestScore is { } latest && q.Count > 1)
        {
            d.AppendLine($"- QIDS-SR16 latest: {Number(latest.Score)} on {Date(latest.When)}" +
                         (q.PercentChange is { } pc ? $"; change from baseline {Signed(pc)}%." : "."));
            d.AppendLine($"- Response (>= {Fig("response-definition-percent-reduction")}% reduction, the article's definition): {YesNo(q.Response)}; " +
                         $"remission (QIDS-SR <= {Fig("remission-definition-max-qids")}): {YesNo(q.Remission)}.");
        }
        else if (q.Count == 1)
        {
            d.AppendLine("- Only one QIDS-SR16 total: no change can be computed yet.");
        }
        else if (q.Count == 0)
        {
            d.AppendLine("- No QIDS-SR16 totals.");
        }

        if (q.Series.Count > 0)
        {
            d.AppendLine($"- QIDS-SR16 after each treatment: {string.Join(", ", q.Series.Select(p => $"#{p.TreatmentNumber} ({Date(p.TreatmentDate)}) {Number(p.Score.Score)}{(p.PercentChange is { } c ? $" ({Signed(c)}%)" : "")}"))}. " +
                         "Treatment dates are inferred from the days with a CADSS total (recorded at each session) and the course start.");
        }

        var c = outcomes.Cadss;
        d.AppendLine(c.Count > 0
            ? $"- CADSS (dissociation): mean {Number(c.Mean)} over {c.Count} total(s); latest {Number(c.Latest)} on {Date(c.LatestScore!.When)}."
            : "- No CADSS totals.");
        if (outcomes.ExcludedCount > 0)
        {
            var reasons = outcomes.ExcludedByReason.Select(r => $"{r.Value} {ReasonText(r.Key)}");
            d.AppendLine($"- {outcomes.ExcludedCount} assessment observation(s) were left out: {string.Join(", ", reasons)}.");
            foreach (var excluded in outcomes.Excluded.Take(3))
            {
                d.AppendLine($"  - {Escape(excluded.Reference)}: {Escape(Truncate(excluded.Detail, 160))}");
            }
        }

        d.AppendLine();
    }

    private static QidsSrSummary? Qids(OutcomeSummary? outcomes) => outcomes is { Qids.Count: > 0 } o
        ? new QidsSrSummary
        {
            Baseline = o.Qids.Baseline,
            Latest = o.Qids.Count > 1 ? o.Qids.Latest : null,
            PercentChange = o.Qids.PercentChange,
            Response = o.Qids.Response,
            Remission = o.Qids.Remission,
        }
        : null;

    private static CadssSummary? Cadss(OutcomeSummary? outcomes) => outcomes is { Cadss.Count: > 0 } o
        ? new CadssSummary { Mean = o.Cadss.Mean, Latest = o.Cadss.Latest }
        : null;

    private static string ReasonText(ExclusionReason reason) => reason switch
    {
        ExclusionReason.FailedValidation => "failed profile validation",
        ExclusionReason.OutOfRange => "outside the score range",
        ExclusionReason.Unreadable => "without a usable value or date",
        _ => reason.ToString(),
    };

    private static string YesNo(bool? value) => value switch { true => "yes", false => "no", null => "not determinable" };

    private static string Signed(decimal value) => value > 0 ? $"+{Number(value)}" : Number(value);

    private static string Date(DateTimeOffset when) => when.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "...";

    private Card Benzodiazepine(BenzodiazepineFinding finding, RenderContext context)
    {
        var a = finding.Assessment;
        var threshold = Number(a.ThresholdMgPerDay);
        var primaryName = ShortTitle(knowledge.PrimaryEquivalence);
        var alternateName = ShortTitle(knowledge.AlternateEquivalence);
        var notCountedBenzos = a.NotCounted.Where(l => l.Therapy.Ingredient.Class == DrugClass.Benzodiazepine).ToList();
        var (indicator, summary) = finding.Code switch
        {
            FindingCodes.BenzodiazepineThreshold => ("warning",
                $"Benzodiazepines {Number(a.TotalPrimary)} mg/day lorazepam equivalents ({primaryName}): at or above the {threshold} mg/day limit of the ketamine study"),
            FindingCodes.BenzodiazepineBorderline => ("info",
                $"Benzodiazepines {Number(a.TotalPrimary)} mg/day lorazepam eq. by {primaryName} but {Number(a.TotalAlternate)} by {alternateName}: near the {threshold} mg/day limit"),
            _ => ("info",
                $"Benzodiazepine dose not determined: {string.Join(", ", notCountedBenzos.Select(l => l.Therapy.Ingredient.Name).Distinct())}; not counted in the total"),
        };

        var d = new StringBuilder();
        d.AppendLine("**This patient's benzodiazepines** (doses from the patient's record; factors from the equivalence tables)").AppendLine();
        d.AppendLine($"| Medication | mg/day | How derived | {Escape(primaryName)} factor | Lorazepam eq. ({Escape(primaryName)}) | {Escape(alternateName)} factor | Lorazepam eq. ({Escape(alternateName)}) |");
        d.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var line in a.Lines.Where(l => l.Counted))
        {
            d.AppendLine($"| {Escape(line.Therapy.DisplayName)} | {DoseCell(line.Dose)} | {Escape(Derivation(line.Dose))} | {Number(line.PrimaryFactor)} | {Number(line.LorazepamEquivalentMgPerDay)} | " +
                         $"{Number(line.AlternateFactor)}{(line.AlternateFactorFromPrimary ? " (not in this table; primary factor used)" : "")} | {Number(line.LorazepamEquivalentMgPerDayAlternate)} |");
        }

        d.AppendLine(a.Lines.Any(l => l.Counted)
            ? $"| **Total{(notCountedBenzos.Count > 0 ? " of the counted medications" : "")}** | | | | **{Number(a.TotalPrimary)} mg/day** | | **{Number(a.TotalAlternate)} mg/day** |"
            : "| **Total** | | | | **not computed: no benzodiazepine dose could be counted** | | |");
        d.AppendLine();
        d.AppendLine("A factor is the oral mg of the drug taken as equal to 1 mg of oral lorazepam; lorazepam equivalents = mg/day / factor.");
        if (a.Lines.Any(l => !l.Counted))
        {
            d.AppendLine().AppendLine("**Recognized but not counted in the total**").AppendLine();
            foreach (var line in a.Lines.Where(l => !l.Counted))
            {
                d.AppendLine($"- {Escape(line.Therapy.DisplayName)} ({References(line.Therapy)}): {Escape(line.NotCountedReason)}.");
            }
        }

        foreach (var note in a.Lines.Select(l => l.Therapy.ReconciliationNote).OfType<string>())
        {
            d.AppendLine().AppendLine($"- Reconciled: {Escape(note)}.");
        }

        d.AppendLine();
        d.AppendLine("**Why it matters** (from the article)").AppendLine();
        d.AppendLine($"- The study required less than {Fig("benzodiazepine-protocol-max-lorazepam-mg-per-day")} mg/day lorazepam equivalents before ketamine/esketamine, " +
                     "because earlier work found an attenuated ketamine response with concomitant high-dose benzodiazepines " +
                     $"({Escape(_evidence.ProtocolReference)})");
        if (a.ThresholdIsSiteSetting)
        {
            d.AppendLine($"- This site set the threshold to {threshold} mg/day lorazepam equivalents.");
        }

        d.AppendLine("- Abrupt benzodiazepine withdrawal carries its own risks; any change to a benzodiazepine is a clinical decision made with the patient.");
        d.AppendLine();
        d.AppendLine("**Uncertainty**").AppendLine();
        d.AppendLine($"- Equivalence tables disagree (by up to 4x for some drugs); the primary table is {Escape(knowledge.PrimaryEquivalence.Title)}, " +
                     $"the alternate {Escape(knowledge.AlternateEquivalence.Title)}. A total near {threshold} mg/day can fall on either side depending on the table.");
        foreach (var citation in knowledge.PrimaryEquivalence.Citations.Concat(knowledge.AlternateEquivalence.Citations).Distinct())
        {
            d.AppendLine($"- Source: {Escape(citation)}");
        }

        AppendClosing(d, context);

        var anyCounted = a.Lines.Any(l => l.Counted);
        return NewCard(finding.Code, summary, indicator, d, new KetamineCdsExtension
        {
            Finding = finding.Code,
            // Nothing counted: no total at all (a 0 would read as "no benzodiazepine"). Some not counted: flagged partial.
            LorazepamEquivalentMgPerDay = anyCounted ? a.TotalPrimary : null,
            LorazepamEquivalentMgPerDayAlternate = anyCounted ? a.TotalAlternate : null,
            TotalExcludesUncountedMedications = notCountedBenzos.Count > 0 ? true : null,
            ThresholdLorazepamMgPerDay = a.ThresholdMgPerDay,
            Medications = a.Lines.Select(l => Line(l.Therapy, l)).ToList(),
            UnreadableResources = context.UnreadableResources > 0 ? context.UnreadableResources : null,
        });
    }

    private Card Unreadable(UnreadableDataFinding finding)
    {
        var d = new StringBuilder();
        d.AppendLine($"{finding.UnreadableResources} medication or assessment resource(s) sent for this patient could not be read " +
                     "(malformed, or naming another patient). No lamotrigine or benzodiazepine finding was made from the data that could be read, " +
                     "but an unreadable entry may be one of them: please review the medication list.");
        d.AppendLine().AppendLine("This card informs; the prescriber decides.");
        return NewCard(FindingCodes.PatientDataUnreadable, $"{finding.UnreadableResources} medication/assessment record(s) could not be read; review the medication list", "info", d,
            new KetamineCdsExtension { Finding = FindingCodes.PatientDataUnreadable, UnreadableResources = finding.UnreadableResources });
    }

    private Card NewCard(string code, string summary, string indicator, StringBuilder detail, KetamineCdsExtension extension) => new()
    {
        Uuid = Guid.NewGuid().ToString(),
        Summary = Summary(summary),
        Indicator = indicator,
        Detail = detail.ToString().TrimEnd(),
        Source = new CardSource
        {
            Label = _evidence.ShortCitation,
            Url = _evidence.DoiUrl,
            Topic = new CdsCoding(KnowledgeLoader.FindingSystem, code, null),
        },
        Extension = new CardExtension(extension),
    };

    private static MedicationLine Line(Therapy therapy, BenzodiazepineLine? benzo = null) => new()
    {
        Reference = therapy.Primary.Fact.Reference,
        Ingredient = therapy.Ingredient.Code,
        MgPerDay = therapy.Dose.MgPerDay,
        ScheduledMgPerDay = therapy.Dose.ScheduledMgPerDay,
        LorazepamEquivalentMgPerDay = benzo?.LorazepamEquivalentMgPerDay,
        LorazepamEquivalentMgPerDayAlternate = benzo?.LorazepamEquivalentMgPerDayAlternate,
        Derivation = therapy.Dose.Derivations.Select(DerivationName).ToList(),
        Counted = benzo?.Counted,
        NotCountedReason = benzo?.NotCountedReason,
        AlsoRecordedAs = therapy.Entries.Skip(1).Select(e => e.Fact.Reference).ToList(),
    };

    private static void AppendDataNotes(StringBuilder d, RenderContext context)
    {
        if (context.UnreadableResources > 0)
        {
            d.AppendLine();
            d.AppendLine($"**Data note:** {context.UnreadableResources} medication or observation resource(s) in the patient's data could not be read and are not reflected here.");
        }

        if (context.ReadWithErrors > 0)
        {
            d.AppendLine();
            d.AppendLine($"**Data note:** {context.ReadWithErrors} resource(s) had format errors and were read as far as possible.");
        }
    }

    /// <summary>Every evidence card ends the same way: data notes, who decides, and the citation.</summary>
    private void AppendClosing(StringBuilder d, RenderContext context)
    {
        AppendDataNotes(d, context);
        d.AppendLine();
        d.AppendLine("This card informs; the prescriber decides.").AppendLine();
        AppendCitation(d);
    }

    private void AppendCitation(StringBuilder d)
    {
        d.AppendLine($"Source: {Escape(_evidence.Citation)} Correction: {Escape(_evidence.CorrectionCitation)}");
    }

    private static string DoseText(DailyDose dose) => dose.MgPerDay is { } mg
        ? $"{(dose.IsUpTo ? "up to " : "")}{Number(mg)} mg/day{(dose.ScheduledMgPerDay is { } s ? $" (scheduled {Number(s)} mg/day)" : "")} [{Escape(dose.Calculation)}; {Escape(Derivation(dose))}]"
        : $"dose could not be determined ({Escape(dose.UnknownReason)})";

    private static string DoseCell(DailyDose dose) => dose.MgPerDay is { } mg
        ? $"{(dose.ScheduledMgPerDay is { } s ? $"scheduled {Number(s)}, " : "")}{(dose.IsUpTo ? "up to " : "")}{Number(mg)} ({Escape(dose.Calculation)})"
        : "unknown";

    private static string Derivation(DailyDose dose) => string.Join(", ", dose.Derivations.Select(DerivationName));

    private static string DerivationName(DoseDerivation derivation) => derivation switch
    {
        DoseDerivation.Structured => "structured dosage",
        DoseDerivation.ProductStrength => "product strength",
        DoseDerivation.ParsedText => "parsed text",
        DoseDerivation.PrnMaximum => "PRN maximum",
        DoseDerivation.RangeHighEnd => "range high end",
        _ => derivation.ToString(),
    };

    private static string Reconciliation(Therapy therapy) =>
        therapy.ReconciliationNote is { } note ? $"; {Escape(note)}" : "";

    private static string References(Therapy therapy) => string.Join("; ", therapy.Entries.Select(e => Escape(e.Fact.Reference)));

    private static string ShortTitle(EquivalenceTable table) =>
        table.Title.Split(" (", 2)[0];

    private string Fig(string key) => AsPublished(_evidence[key].Value);

    private string Pct(string key)
    {
        var f = _evidence[key];
        return f.Numerator is { } n && f.Denominator is { } dd ? $"{AsPublished(f.Value)}% ({n}/{dd})" : $"{AsPublished(f.Value)}%";
    }

    private string P(string key)
    {
        var f = _evidence[key];
        return $"p {f.Comparator ?? "="} {AsPublished(f.Value)}";
    }

    private string Se(string key)
    {
        var f = _evidence[key];
        return f.StandardError is { } se ? $"{AsPublished(f.Value)} ({AsPublished(se)})" : AsPublished(f.Value);
    }

    private string Sd(string key)
    {
        var f = _evidence[key];
        return f.StandardDeviation is { } sd ? $"{AsPublished(f.Value)} +/- {AsPublished(sd)}" : AsPublished(f.Value);
    }
}
