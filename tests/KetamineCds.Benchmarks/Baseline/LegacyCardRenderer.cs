// BENCHMARK BASELINE ONLY: src/KetamineCds.Api/Cards/CardRenderer.cs as of commit 497f409 (before the issue 8 item 1
// response-side work), kept so that "response" can time the old and the new renderer interleaved in one run on a noisy
// machine. Not used by the service; its output is the new renderer's (CdsResponseJsonTests and the card tests cover the
// new one). Delete it once the figures in docs/performance.md no longer need re-running.
using System.Text;
using System.Text.Json.Nodes;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Api.Security;
using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Knowledge;
using Microsoft.Extensions.Options;
using static KetamineCds.Api.Cards.Markdown;

using KetamineCds.Api.Cards;

namespace KetamineCds.Benchmarks.Baseline;


/// <summary>
/// Turns findings into CDS Hooks cards. Each number on a card is labelled as the patient's (from the record) or the
/// article's (Joseph et al. 2023). Cards inform; they never suggest stopping, tapering, holding or reducing
/// lamotrigine or a benzodiazepine, and carry no suggestions or actions.
/// </summary>
/// <remarks>
/// Cards are short (issue 9 item 4): the summary, the patient's key numbers and one or two sentences of evidence; the
/// full picture is in the SMART app the card links to. The response stays self-sufficient for EHRs that show no links:
/// the benzodiazepine card keeps its calculation table, kept to four columns for a ~720 px side panel. FHIR ids stay in
/// the extension, never in the clinician text. docs/cds-hooks-contract.md gives the length budgets the tests enforce.
/// </remarks>
public sealed class LegacyCardRenderer(ClinicalKnowledge knowledge, IOptions<CdsSecurityOptions> security)
{
    private readonly EvidenceFigures _evidence = knowledge.Evidence;
    private readonly string? _publicBaseUrl = string.IsNullOrWhiteSpace(security.Value.PublicBaseUrl) ? null : security.Value.PublicBaseUrl.TrimEnd('/');

    public IReadOnlyList<Card> Render(IEnumerable<Finding> findings, RenderContext context)
    {
        ArgumentNullException.ThrowIfNull(findings);
        ArgumentNullException.ThrowIfNull(context);
        return findings.Select(f => f switch
        {
            LamotrigineFinding l => Lamotrigine(l, context),
            BenzodiazepineFinding b => Benzodiazepine(b, context),
            UnreadableDataFinding u => Unreadable(u, context),
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
        var summary = $"Lamotrigine {dose} ({category}): a small study found no significant difference in ketamine/esketamine response";

        var d = new StringBuilder();
        d.AppendLine("**This patient** (from the patient's record)").AppendLine();
        foreach (var therapy in finding.Therapies)
        {
            d.AppendLine($"- {Escape(therapy.DisplayName)}: {DoseText(therapy.Dose)}{Reconciliation(therapy)}");
        }

        var cut = Number(finding.StandardDoseMinMgPerDay);
        d.AppendLine(finding.Category switch
        {
            LamotrigineDoseCategory.Unknown => $"- Dose category: unknown, because the daily dose could not be determined (the article's cut-off is {cut} mg/day).",
            _ => $"- Dose category: {category} (article cut-off {cut} mg/day).",
        });
        d.AppendLine(finding.CourseShownSeparately
            ? "- QIDS-SR16 and CADSS course: on the ketamine course card."
            : CourseLine(finding.Outcomes, context));
        if (finding.Benzodiazepines is { } benzodiazepines)
        {
            d.AppendLine(BenzodiazepineLine(benzodiazepines));
        }

        d.AppendLine();
        d.AppendLine($"**What the study found** (from the article; {Fig("cohort-lamotrigine-n")} of {Fig("cohort-n")} cohort patients took lamotrigine)").AppendLine();
        d.AppendLine($"- Response {Pct("response-lamotrigine-percent")} with lamotrigine vs {Pct("response-no-lamotrigine-percent")} without ({P("response-p")}); " +
                     $"remission {Pct("remission-lamotrigine-percent")} vs {Pct("remission-no-lamotrigine-percent")} ({P("remission-p")}). Lamotrigine was continued throughout.");
        foreach (var sentence in RouteEvidence(finding.Ketamine))
        {
            d.AppendLine($"- {sentence}");
        }

        d.AppendLine($"- Limitations: {Escape(_evidence.ShortLimitations)}");
        AppendClosing(d, context);

        return NewCard(FindingCodes.LamotrigineConcurrent, summary, "info", d, context, new KetamineCdsExtension
        {
            Finding = FindingCodes.LamotrigineConcurrent,
            LamotrigineMgPerDay = finding.MgPerDay,
            LamotrigineDoseCategory = finding.Category.ToString().ToLowerInvariant(),
            Medications = finding.Therapies.Select(t => Line(t)).ToList(),
            QidsSr = Qids(finding.Outcomes),
            Cadss = Cadss(finding.Outcomes),
            UnreadableResources = context.UnreadableResources > 0 ? context.UnreadableResources : null,
            KetamineForm = FormName(finding.Ketamine),
            Benzodiazepines = BenzodiazepineSummaryOf(finding.Benzodiazepines),
        });
    }

    /// <summary>
    /// What the study can say for the ketamine being ordered (Joseph et al. 2023, Results 3.1 and Table 1): the CADSS
    /// effect was found with the esketamine patients excluded, and only 1 of the 8 cohort lamotrigine patients had
    /// intranasal esketamine.
    /// </summary>
    private IEnumerable<string> RouteEvidence(KetamineForm form)
    {
        var ivAnalysis = $"the IV-only analysis ({Fig("iv-only-n")} IV patients, {Fig("iv-only-lamotrigine-n")} on lamotrigine)";
        if (form is KetamineForm.Esketamine or KetamineForm.Both)
        {
            yield return $"Intranasal esketamine: only {Fig("cohort-lamotrigine-in-esketamine-n")} of the {Fig("cohort-lamotrigine-n")} cohort lamotrigine patients had it, " +
                         $"so the study could not test it on its own. The dissociation signal (CADSS, {P("iv-cadss-lamotrigine-effect-p")}) came from {ivAnalysis}.";
        }

        if (form is not KetamineForm.Esketamine)
        {
            yield return $"Dissociation: the signal came from IV patients. In {ivAnalysis}, lamotrigine had an effect on CADSS ({P("iv-cadss-lamotrigine-effect-p")}; " +
                         $"mean {Fig("iv-cadss-mean-first-five-lamotrigine")} vs {Fig("iv-cadss-mean-first-five-no-lamotrigine")} over five treatments) " +
                         $"but not on QIDS-SR change ({P("iv-qids-lamotrigine-effect-p")}).";
        }
    }

    private Card Course(KetamineCourseFinding finding, RenderContext context)
    {
        var q = finding.Outcomes.Qids;
        var c = finding.Outcomes.Cadss;
        var parts = new List<string>();
        if (q.Baseline is { } b && q.Latest is { } l && q.PercentChange is { } pc)
        {
            var status = (q.Remission, q.Response, q.RemissionAtAnyPoint, q.ResponseAtAnyPoint) switch
            {
                (true, _, _, _) => ", remission",
                (_, true, true, _) => ", response (remission earlier, not on the latest score)",
                (_, true, _, _) => ", response",
                (_, _, true, _) => ", remission earlier, not on the latest score",
                (_, _, _, true) => ", response earlier, not on the latest score",
                _ => "",
            };
            parts.Add($"QIDS-SR {Number(b)} to {Number(l)} ({Signed(pc)}%){status}");
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
        if (finding.Benzodiazepines is { } benzodiazepines)
        {
            d.AppendLine(BenzodiazepineLine(benzodiazepines)).AppendLine();
        }

        d.AppendLine("**For comparison** (from the article)").AppendLine();
        d.AppendLine($"- Cohort (n = {Fig("cohort-n")}): response {Pct("response-lamotrigine-percent")} with lamotrigine " +
                     $"vs {Pct("response-no-lamotrigine-percent")} without ({P("response-p")}); remission " +
                     $"{Pct("remission-lamotrigine-percent")} vs {Pct("remission-no-lamotrigine-percent")} ({P("remission-p")}).");
        d.AppendLine($"- Case series (n = {Fig("case-series-n")}, all on lamotrigine): {Pct("case-series-response-percent")} responded; {Pct("case-series-remission-percent")} " +
                     "\"met remission criteria at some point during the induction phase\".");
        d.AppendLine($"- CADSS mean (SE): {Se("cadss-mean-lamotrigine")} with lamotrigine vs {Se("cadss-mean-no-lamotrigine")} without ({P("cadss-p")}).");
        d.AppendLine($"- Limitations: {Escape(_evidence.ShortLimitations)}");
        AppendClosing(d, context);
        return NewCard(FindingCodes.KetamineCourse, summary, "info", d, context, new KetamineCdsExtension
        {
            Finding = FindingCodes.KetamineCourse,
            QidsSr = Qids(finding.Outcomes),
            Cadss = Cadss(finding.Outcomes),
            UnreadableResources = context.UnreadableResources > 0 ? context.UnreadableResources : null,
            Benzodiazepines = BenzodiazepineSummaryOf(finding.Benzodiazepines),
            ExcludedObservations = finding.Outcomes.ExcludedCount > 0
                ? finding.Outcomes.Excluded.Select(e => new ExcludedObservation(e.Reference, ReasonText(e.Reason), e.Detail)).ToList()
                : null,
        });
    }

    /// <summary>The lamotrigine card's one line on the course (the course card, where shown, has the detail).</summary>
    private static string CourseLine(OutcomeSummary? outcomes, RenderContext context)
    {
        if (outcomes is null)
        {
            return context.ObservationsAvailable
                ? "- QIDS-SR16: no totals were found."
                : "- QIDS-SR16: Not available: the patient's survey Observations were neither prefetched nor readable from the FHIR server.";
        }

        var q = outcomes.Qids;
        if (q.BaselineScore is not { } baseline)
        {
            return "- QIDS-SR16: no usable totals.";
        }

        if (q.LatestScore is not { } latest || q.Count < 2 || latest.When <= baseline.When)
        {
            return $"- QIDS-SR16: baseline {Number(baseline.Score)} ({Date(baseline.When)}); no later score yet.";
        }

        return $"- QIDS-SR16: baseline {Number(baseline.Score)}, latest {Number(latest.Score)} ({Date(latest.When)}" +
               (q.PercentChange is { } pc ? $", {Signed(pc)}%" : "") + "); " +
               $"response at any point {YesNo(q.ResponseAtAnyPoint)}, on the latest score {YesNo(q.Response)}; " +
               $"remission at any point {YesNo(q.RemissionAtAnyPoint)}, on the latest score {YesNo(q.Remission)}.";
    }

    /// <summary>The patient's QIDS-SR/CADSS course, every number from the patient's Observations.</summary>
    private void AppendOutcomes(StringBuilder d, OutcomeSummary outcomes, RenderContext context)
    {
        d.AppendLine("**This patient's course** (QIDS-SR16 and CADSS totals from the patient's record)").AppendLine();
        var q = outcomes.Qids;
        if (q.BaselineScore is { } baseline)
        {
            var basis = q.BaselineBasis switch
            {
                BaselineBasis.LastBeforeFirstTreatment => "last score before the course began",
                BaselineBasis.EarliestAfterTreatmentStarted => "earliest score, already on treatment",
                _ => "earliest score; the course start date is not known",
            };
            d.Append($"- QIDS-SR16 baseline: {Number(baseline.Score)} on {Date(baseline.When)} ({basis})");
            d.AppendLine(q.LatestScore is { } last && q.Count > 1
                ? $"; latest {Number(last.Score)} on {Date(last.When)}{(q.PercentChange is { } pc ? $" ({Signed(pc)}%)" : "")}."
                : ".");
        }

        if (q.LatestScore is not null && q.Count > 1)
        {
            d.AppendLine($"- Response (>= {Fig("response-definition-percent-reduction")}% reduction): at any point {YesNo(q.ResponseAtAnyPoint)}{First(q.FirstResponse)}, " +
                         $"on the latest score {YesNo(q.Response)}. Remission (QIDS-SR <= {Fig("remission-definition-max-qids")}): " +
                         $"at any point {YesNo(q.RemissionAtAnyPoint)}{First(q.FirstRemission)}, on the latest score {YesNo(q.Remission)}.");
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
            d.AppendLine($"- After each treatment: {string.Join(", ", q.Series.Select(p => $"#{p.TreatmentNumber} ({Date(p.TreatmentDate)}) {Number(p.Score.Score)}{(p.PercentChange is { } c ? $" ({Signed(c)}%)" : "")}"))} " +
                         "(treatment days: the days with a CADSS total, and the course start).");
        }

        var c = outcomes.Cadss;
        d.AppendLine(c.Count > 0
            ? $"- CADSS (dissociation): mean {Number(c.Mean)} over {c.Count} total(s); latest {Number(c.Latest)} on {Date(c.LatestScore!.When)}."
            : "- No CADSS totals.");
        if (outcomes.ExcludedCount > 0)
        {
            var reasons = outcomes.ExcludedByReason.Select(r => $"{r.Value} {ReasonText(r.Key)}");
            d.AppendLine($"- {outcomes.ExcludedCount} assessment observation(s) were left out: {string.Join(", ", reasons)}.");
        }

        d.AppendLine();
    }

    private static string First(AssessmentScore? score) => score is { } s ? $" (first {Date(s.When)})" : "";

    private static QidsSrSummary? Qids(OutcomeSummary? outcomes) => outcomes is { Qids.Count: > 0 } o
        ? new QidsSrSummary
        {
            Baseline = o.Qids.Baseline,
            Latest = o.Qids.Count > 1 ? o.Qids.Latest : null,
            PercentChange = o.Qids.PercentChange,
            Response = o.Qids.Response,
            Remission = o.Qids.Remission,
            ResponseAtAnyPoint = o.Qids.ResponseAtAnyPoint,
            RemissionAtAnyPoint = o.Qids.RemissionAtAnyPoint,
            FirstResponseDate = o.Qids.FirstResponse?.When,
            FirstRemissionDate = o.Qids.FirstRemission?.When,
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

    private Card Benzodiazepine(BenzodiazepineFinding finding, RenderContext context)
    {
        var a = finding.Assessment;
        var threshold = Number(a.ThresholdMgPerDay);
        var primaryName = ShortTitle(knowledge.PrimaryEquivalence);
        var alternateName = ShortTitle(knowledge.AlternateEquivalence);
        var notCountedBenzos = a.NotCountedBenzodiazepines.ToList();
        var upTo = a.TotalIsUpTo ? "up to " : "";
        var (indicator, summary) = finding.Code switch
        {
            FindingCodes.BenzodiazepineThreshold => ("warning",
                $"Benzodiazepines {upTo}{Number(a.TotalPrimary)} mg/day lorazepam eq. ({primaryName}{(a.TotalIsUpTo ? ", PRN at maximum" : "")}): " +
                $"at or above the {threshold} mg/day limit of the ketamine study"),
            FindingCodes.BenzodiazepineBorderline => ("info",
                $"Benzodiazepines {upTo}{Number(a.TotalPrimary)} mg/day lorazepam eq. by {primaryName} (below the {threshold} mg/day limit), " +
                $"{Number(a.TotalAlternate)} by {alternateName} (at or above it)"),
            FindingCodes.BenzodiazepineBelowThreshold => ("info",
                $"Benzodiazepines counted: {upTo}{Number(a.TotalPrimary)} mg/day lorazepam eq. ({primaryName}), {Number(a.TotalAlternate)} ({alternateName}); " +
                $"below the {threshold} mg/day limit"),
            _ => ("info", NotCountedSummary(notCountedBenzos)),
        };

        var d = new StringBuilder();
        d.AppendLine("**This patient's benzodiazepines** (doses from the patient's record; factors from the equivalence tables)").AppendLine();
        d.AppendLine($"| Medication | mg/day | {Escape(primaryName)} | {Escape(alternateName)} |");
        d.AppendLine("|---|---|---|---|");
        foreach (var line in a.Counted)
        {
            d.AppendLine($"| {Escape(line.Therapy.DisplayName)} | {DoseCell(line.Dose)} | {Number(line.LorazepamEquivalentMgPerDay)} (/ {Number(line.PrimaryFactor)}) | " +
                         $"{Number(line.LorazepamEquivalentMgPerDayAlternate)} (/ {Number(line.AlternateFactor)}{(line.AlternateFactorFromPrimary ? $", {Escape(primaryName)} factor: not in this table" : "")}) |");
        }

        d.AppendLine(a.Counted.Any()
            ? $"| **Total{(notCountedBenzos.Count > 0 ? " counted" : "")}** | | **{upTo}{Number(a.TotalPrimary)}** | **{upTo}{Number(a.TotalAlternate)}** |"
            : "| **Total** | | **not computed** | **not computed** |");
        d.AppendLine();
        d.AppendLine("Lorazepam equivalents (mg/day) = mg/day / the table's factor (the oral mg equal to 1 mg oral lorazepam).");
        var notCounted = a.NotCounted.ToList();
        var reconciled = a.Lines.Where(l => l.Therapy.Entries.Count > 1 || l.Therapy.Concurrent).ToList();
        if (notCounted.Count > 0 || reconciled.Count > 0)
        {
            d.AppendLine();
            foreach (var line in notCounted)
            {
                d.AppendLine($"- Not counted: {Escape(line.Therapy.DisplayName)}: {Escape(line.NotCountedReason)}.");
            }

            foreach (var line in reconciled)
            {
                d.AppendLine($"- {Escape(line.Therapy.DisplayName)}{Reconciliation(line.Therapy)}.");
            }
        }

        d.AppendLine();
        d.AppendLine("**Why it matters** (from the article)").AppendLine();
        d.AppendLine($"- The study required less than {Fig("benzodiazepine-protocol-max-lorazepam-mg-per-day")} mg/day lorazepam equivalents before ketamine/esketamine: " +
                     $"earlier work found an attenuated ketamine response with high-dose benzodiazepines ({Escape(_evidence.ShortProtocolReference)}).");
        if (a.ThresholdIsSiteSetting)
        {
            d.AppendLine($"- This site set the threshold to {threshold} mg/day lorazepam equivalents.");
        }

        d.AppendLine($"- The tables ({Escape(primaryName)} primary, {Escape(alternateName)} alternate) disagree by up to 4x for some drugs, so a total near {threshold} mg/day can fall on either side.");
        d.AppendLine("- Any change to a benzodiazepine is a clinical decision made with the patient; abrupt withdrawal carries its own risks.");
        AppendClosing(d, context);

        var anyCounted = a.Counted.Any();
        return NewCard(finding.Code, summary, indicator, d, context, new KetamineCdsExtension
        {
            Finding = finding.Code,
            // Nothing counted: no total at all (a 0 would read as "no benzodiazepine"). Some not counted: flagged partial.
            LorazepamEquivalentMgPerDay = anyCounted ? a.TotalPrimary : null,
            LorazepamEquivalentMgPerDayAlternate = anyCounted ? a.TotalAlternate : null,
            LorazepamEquivalentIsUpTo = a.TotalIsUpTo ? true : null,
            TotalExcludesUncountedMedications = notCountedBenzos.Count > 0 ? true : null,
            ThresholdLorazepamMgPerDay = a.ThresholdMgPerDay,
            Medications = a.Lines.Select(l => Line(l.Therapy, l)).ToList(),
            UnreadableResources = context.UnreadableResources > 0 ? context.UnreadableResources : null,
        });
    }

    /// <summary>The dose-unknown summary names each drug not counted and why (not oral, no equivalence, dose unknown).</summary>
    private static string NotCountedSummary(List<BenzodiazepineLine> lines)
    {
        var named = lines
            .GroupBy(l => l.Therapy.Ingredient.Name, StringComparer.OrdinalIgnoreCase)
            .Select(g => $"{g.Key} ({string.Join(", ", g.Select(l => KindText(l.NotCountedKind)).Distinct())})")
            .ToList();
        return $"Benzodiazepine{(named.Count > 1 ? "s" : "")} not counted: {string.Join("; ", named)}; the total excludes {(named.Count > 1 ? "them" : "it")}";
    }

    private static string KindText(NotCountedKind? kind) => kind switch
    {
        NotCountedKind.NotOral => "route not oral",
        NotCountedKind.NoEquivalence => "no oral lorazepam equivalence",
        NotCountedKind.DoseUnknown => "dose unknown",
        NotCountedKind.NotABenzodiazepine => "not a benzodiazepine",
        _ => "not counted",
    };

    private static string? KindCode(NotCountedKind? kind) => kind switch
    {
        NotCountedKind.NotOral => "not-oral",
        NotCountedKind.NoEquivalence => "no-equivalence",
        NotCountedKind.DoseUnknown => "dose-unknown",
        NotCountedKind.NotABenzodiazepine => "not-a-benzodiazepine",
        _ => null,
    };

    /// <summary>One line listing the benzodiazepines counted, on the cards that are not about them (issue 7 item 6).</summary>
    private string BenzodiazepineLine(BenzodiazepineAssessment a)
    {
        var counted = a.Counted.Where(l => l.Therapy.Ingredient.Class == DrugClass.Benzodiazepine).ToList();
        var notCounted = a.NotCountedBenzodiazepines.ToList();
        var upTo = a.TotalIsUpTo ? "up to " : "";
        var text = new StringBuilder("- Benzodiazepines counted: ");
        if (counted.Count == 0)
        {
            text.Append("none");
        }
        else
        {
            text.Append(string.Join(", ", counted.Select(l => $"{Escape(l.Therapy.Ingredient.Name)} {(l.Dose.IsUpTo ? "up to " : "")}{Number(l.MgPerDay)} mg/day")));
            text.Append($"; {upTo}{Number(a.TotalPrimary)} mg/day lorazepam eq. ({Escape(ShortTitle(knowledge.PrimaryEquivalence))}), " +
                        $"{Number(a.TotalAlternate)} ({Escape(ShortTitle(knowledge.AlternateEquivalence))}); limit {Number(a.ThresholdMgPerDay)}");
        }

        if (notCounted.Count > 0)
        {
            text.Append($". Not counted: {string.Join(", ", notCounted.Select(l => $"{Escape(l.Therapy.Ingredient.Name)} ({KindText(l.NotCountedKind)})"))}");
        }

        return text.Append('.').ToString();
    }

    private static BenzodiazepineSummary? BenzodiazepineSummaryOf(BenzodiazepineAssessment? a) => a is null
        ? null
        : new BenzodiazepineSummary
        {
            LorazepamEquivalentMgPerDay = a.Counted.Any() ? a.TotalPrimary : null,
            LorazepamEquivalentMgPerDayAlternate = a.Counted.Any() ? a.TotalAlternate : null,
            LorazepamEquivalentIsUpTo = a.TotalIsUpTo ? true : null,
            ThresholdLorazepamMgPerDay = a.ThresholdMgPerDay,
            TotalExcludesUncountedMedications = a.NotCountedBenzodiazepines.Any() ? true : null,
            Medications = a.Lines.Select(l => Line(l.Therapy, l)).ToList(),
        };

    private Card Unreadable(UnreadableDataFinding finding, RenderContext context)
    {
        var d = new StringBuilder();
        d.AppendLine($"{finding.UnreadableResources} medication or assessment resource(s) sent for this patient could not be read " +
                     "(malformed, or naming another patient). No lamotrigine or benzodiazepine finding was made from the data that could be read, " +
                     "but an unreadable entry may be one of them: please review the medication list.");
        d.AppendLine().AppendLine("This card informs; the prescriber decides.");
        return NewCard(FindingCodes.PatientDataUnreadable, $"{finding.UnreadableResources} medication/assessment record(s) could not be read; review the medication list", "info", d,
            context, new KetamineCdsExtension { Finding = FindingCodes.PatientDataUnreadable, UnreadableResources = finding.UnreadableResources });
    }

    private Card NewCard(string code, string summary, string indicator, StringBuilder detail, RenderContext context, KetamineCdsExtension extension)
    {
        var reasons = knowledge.OverrideReasons
            .Where(r => r.Findings.Contains(code, StringComparer.Ordinal))
            .Select(r => new CdsCoding(r.System, r.Code, r.Display))
            .ToList();
        return new Card
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
            Links = Links(code, context.HookInstance),
            OverrideReasons = reasons.Count > 0 ? reasons : null,
            Extension = new CardExtension(extension),
        };
    }

    /// <summary>
    /// INTERFACES.md seam 2: the SMART app launch (its appContext names the finding and the hook instance, never patient
    /// data) and the public evidence page, both under KetamineCds:Security:PublicBaseUrl; none when it is not set.
    /// </summary>
    private List<CardLink>? Links(string finding, string? hookInstance)
    {
        if (_publicBaseUrl is null)
        {
            return null;
        }

        var appContext = new JsonObject { ["finding"] = finding };
        if (!string.IsNullOrEmpty(hookInstance))
        {
            appContext["hookInstance"] = hookInstance;
        }

        return
        [
            new CardLink { Label = "Open the ketamine course (SMART app)", Url = $"{_publicBaseUrl}/app/launch", Type = "smart", AppContext = appContext.ToJsonString() },
            new CardLink { Label = "Evidence: Joseph et al. 2023", Url = $"{_publicBaseUrl}/app/evidence#{Uri.EscapeDataString(finding)}", Type = "absolute" },
        ];
    }

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
        NotCountedKind = KindCode(benzo?.NotCountedKind),
        AlsoRecordedAs = therapy.Entries.Skip(1).Select(e => e.Fact.Reference).ToList(),
        Display = therapy.DisplayName,
        IsUpTo = therapy.Dose.IsUpTo ? true : null,
        ReconciliationNote = therapy.ReconciliationNote,
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

    /// <summary>Every evidence card ends the same way: data notes, who decides, and the citation once, short.</summary>
    private void AppendClosing(StringBuilder d, RenderContext context)
    {
        AppendDataNotes(d, context);
        d.AppendLine();
        d.AppendLine($"This card informs; the prescriber decides. Source: {Escape(_evidence.ShortCitation)}; {Escape(_evidence.ShortCorrectionCitation)}.");
    }

    private static string DoseText(DailyDose dose) => dose.MgPerDay is { } mg
        ? $"{(dose.IsUpTo ? "up to " : "")}{Number(mg)} mg/day{(dose.ScheduledMgPerDay is { } s ? $" (scheduled {Number(s)})" : "")} ({Escape(dose.Calculation)}; {Escape(Derivation(dose))})"
        : $"dose could not be determined ({Escape(dose.UnknownReason)})";

    private static string DoseCell(DailyDose dose) => dose.MgPerDay is { } mg
        ? $"{(dose.ScheduledMgPerDay is { } s ? $"scheduled {Number(s)}, " : "")}{(dose.IsUpTo ? "up to " : "")}{Number(mg)} ({Escape(dose.Calculation)}; {Escape(Derivation(dose))})"
        : "unknown";

    private static string Derivation(DailyDose dose) => string.Join(", ", dose.Derivations.Select(DerivationName));

    private static string DerivationName(DoseDerivation derivation) => derivation switch
    {
        DoseDerivation.Structured => "structured dosage",
        DoseDerivation.ProductStrength => "product strength",
        DoseDerivation.ParsedText => "parsed text",
        DoseDerivation.PrnMaximum => "PRN maximum",
        DoseDerivation.RangeHighEnd => "range high end",
        DoseDerivation.FrequencyMaximum => "frequency maximum",
        _ => derivation.ToString(),
    };

    /// <summary>
    /// How the entries of one therapy were reconciled, said without FHIR ids (the ids and the reconciler's own note are
    /// in the extension's medication line).
    /// </summary>
    private static string Reconciliation(Therapy therapy)
    {
        // Copies of one record merged, or a concurrent therapy of the same drug added (issue 7 item 4): the reconciler's
        // own note says which, and it names no FHIR ids.
        var oneKind = therapy.Entries.Select(e => e.Fact.Source).Distinct().Count() == 1;
        if ((therapy.Concurrent || (therapy.DuplicateEntries > 0 && oneKind)) && !string.IsNullOrWhiteSpace(therapy.ReconciliationNote))
        {
            return $"; {therapy.ReconciliationNote}";
        }

        if (therapy.Entries.Count < 2)
        {
            return "";
        }

        var kinds = string.Join(" and ", therapy.Entries
            .GroupBy(e => e.Fact.Source)
            .Select(g => $"{g.Count()} {SourceName(g.Key)}{(g.Count() > 1 ? "s" : "")}"));
        var known = therapy.EntryDoses.Where(x => x.MgPerDay is not null).Select(x => x.MgPerDay!.Value).ToList();
        var agree = known.Count == therapy.EntryDoses.Count && known.Distinct().Count() == 1;
        return agree
            ? $"; recorded as {kinds}, counted once"
            : $"; recorded as {kinds} that disagree ({string.Join(" vs ", therapy.EntryDoses.Select(x => x.MgPerDay is { } m ? $"{Number(m)} mg/day" : "unknown"))}); " +
              (known.Count > 0 ? "the higher known dose is counted" : "no dose could be determined");
    }

    private static string SourceName(MedicationSource source) => source switch
    {
        MedicationSource.Statement => "patient report",
        MedicationSource.Request => "prescription",
        _ => "draft order",
    };

    private static string ShortTitle(EquivalenceTable table) =>
        table.Title.Split(" (", 2)[0];

    private static string FormName(KetamineForm form) => form switch
    {
        KetamineForm.RacemicKetamine => "racemic-ketamine",
        KetamineForm.Esketamine => "esketamine",
        KetamineForm.Both => "both",
        _ => "unknown",
    };

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
}
