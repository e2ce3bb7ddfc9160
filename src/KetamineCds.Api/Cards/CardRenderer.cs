using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
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

namespace KetamineCds.Api.Cards;

/// <summary>What the renderer needs beyond the findings: data-quality facts to disclose on every card, and the hook
/// instance the SMART link's appContext names.</summary>
public sealed record RenderContext(int UnreadableResources, bool ObservationsAvailable, int ReadWithErrors = 0, string? HookInstance = null);

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
/// <para>Text that depends only on the loaded knowledge (the article's figures, the tables' names, the citation, the
/// override reasons, the link URLs) is built once, in the constructor; a call builds only the patient's part
/// (issue 8 item 1: the lamotrigine card's evidence sentences were most of the renderer's CPU).</para>
/// </remarks>
public sealed class CardRenderer
{
    private readonly ClinicalKnowledge knowledge;
    private readonly EvidenceFigures _evidence;
    private readonly string? _publicBaseUrl;

    // Built once from the knowledge (see the remarks): each is exactly what the per-call code used to build.
    private readonly string _lamotrigineStudyHeader;
    private readonly string _lamotrigineStudyResponse;
    private readonly string _esketamineEvidence;
    private readonly string _ivEvidence;
    private readonly string _limitations;
    private readonly string _closing;
    private readonly string _courseComparison;
    private readonly string _responseDefinition;
    private readonly string _remissionDefinition;
    private readonly string _primaryName;
    private readonly string _alternateName;
    private readonly string _primaryNameEscaped;
    private readonly string _alternateNameEscaped;
    private readonly string _benzodiazepineTableHeader;
    private readonly string _benzodiazepineProtocol;
    private readonly string? _launchUrl;
    private readonly FrozenDictionary<string, FindingParts> _findingParts;

    public CardRenderer(ClinicalKnowledge knowledge, IOptions<CdsSecurityOptions> security)
    {
        ArgumentNullException.ThrowIfNull(knowledge);
        ArgumentNullException.ThrowIfNull(security);
        this.knowledge = knowledge;
        _evidence = knowledge.Evidence;
        _publicBaseUrl = string.IsNullOrWhiteSpace(security.Value.PublicBaseUrl) ? null : security.Value.PublicBaseUrl.TrimEnd('/');

        _lamotrigineStudyHeader = $"**What the study found** (from the article; {Fig("cohort-lamotrigine-n")} of {Fig("cohort-n")} cohort patients took lamotrigine)";
        _lamotrigineStudyResponse = $"- Response {Pct("response-lamotrigine-percent")} with lamotrigine vs {Pct("response-no-lamotrigine-percent")} without ({P("response-p")}); " +
                                    $"remission {Pct("remission-lamotrigine-percent")} vs {Pct("remission-no-lamotrigine-percent")} ({P("remission-p")}). Lamotrigine was continued throughout.";
        var ivAnalysis = $"the IV-only analysis ({Fig("iv-only-n")} IV patients, {Fig("iv-only-lamotrigine-n")} on lamotrigine)";
        _esketamineEvidence = $"- Intranasal esketamine: only {Fig("cohort-lamotrigine-in-esketamine-n")} of the {Fig("cohort-lamotrigine-n")} cohort lamotrigine patients had it, " +
                              $"so the study could not test it on its own. The dissociation signal (CADSS, {P("iv-cadss-lamotrigine-effect-p")}) came from {ivAnalysis}.";
        _ivEvidence = $"- Dissociation: the signal came from IV patients. In {ivAnalysis}, lamotrigine had an effect on CADSS ({P("iv-cadss-lamotrigine-effect-p")}; " +
                      $"mean {Fig("iv-cadss-mean-first-five-lamotrigine")} vs {Fig("iv-cadss-mean-first-five-no-lamotrigine")} over five treatments) " +
                      $"but not on QIDS-SR change ({P("iv-qids-lamotrigine-effect-p")}).";
        _limitations = $"- Limitations: {Escape(_evidence.ShortLimitations)}";
        _closing = $"This card informs; the prescriber decides. Source: {Escape(_evidence.ShortCitation)}; {Escape(_evidence.ShortCorrectionCitation)}.";
        var comparison = new StringBuilder();
        comparison.AppendLine("**For comparison** (from the article)").AppendLine();
        comparison.AppendLine($"- Cohort (n = {Fig("cohort-n")}): response {Pct("response-lamotrigine-percent")} with lamotrigine " +
                              $"vs {Pct("response-no-lamotrigine-percent")} without ({P("response-p")}); remission " +
                              $"{Pct("remission-lamotrigine-percent")} vs {Pct("remission-no-lamotrigine-percent")} ({P("remission-p")}).");
        comparison.AppendLine($"- Case series (n = {Fig("case-series-n")}, all on lamotrigine): {Pct("case-series-response-percent")} responded; {Pct("case-series-remission-percent")} " +
                              "\"met remission criteria at some point during the induction phase\".");
        comparison.AppendLine($"- CADSS mean (SE): {Se("cadss-mean-lamotrigine")} with lamotrigine vs {Se("cadss-mean-no-lamotrigine")} without ({P("cadss-p")}).");
        comparison.AppendLine(_limitations);
        _courseComparison = comparison.ToString();
        _responseDefinition = Fig("response-definition-percent-reduction");
        _remissionDefinition = Fig("remission-definition-max-qids");
        _primaryName = ShortTitle(knowledge.PrimaryEquivalence);
        _alternateName = ShortTitle(knowledge.AlternateEquivalence);
        _primaryNameEscaped = Escape(_primaryName);
        _alternateNameEscaped = Escape(_alternateName);
        _benzodiazepineTableHeader = $"| Medication | mg/day | {_primaryNameEscaped} | {_alternateNameEscaped} |";
        _benzodiazepineProtocol = $"- The study required less than {Fig("benzodiazepine-protocol-max-lorazepam-mg-per-day")} mg/day lorazepam equivalents before ketamine/esketamine: " +
                                  $"earlier work found an attenuated ketamine response with high-dose benzodiazepines ({Escape(_evidence.ShortProtocolReference)}).";
        _launchUrl = _publicBaseUrl is null ? null : $"{_publicBaseUrl}/app/launch";
        _findingParts = new[]
        {
            FindingCodes.LamotrigineConcurrent, FindingCodes.BenzodiazepineThreshold, FindingCodes.BenzodiazepineBorderline,
            FindingCodes.BenzodiazepineDoseUnknown, FindingCodes.BenzodiazepineBelowThreshold, FindingCodes.KetamineCourse,
            FindingCodes.PatientDataUnreadable,
        }.ToFrozenDictionary(code => code, BuildParts, StringComparer.Ordinal);
    }

    /// <summary>What every card of one finding shares: its source, override reasons and evidence link (cards are immutable records).</summary>
    private sealed record FindingParts(CardSource Source, CdsCoding[]? OverrideReasons, string EvidenceUrl, string EncodedFinding);

    private FindingParts PartsOf(string code) => _findingParts.TryGetValue(code, out var parts) ? parts : BuildParts(code);

    private FindingParts BuildParts(string code)
    {
        var reasons = knowledge.OverrideReasons
            .Where(r => r.Findings.Contains(code, StringComparer.Ordinal))
            .Select(r => new CdsCoding(r.System, r.Code, r.Display))
            .ToArray();
        return new FindingParts(
            new CardSource
            {
                Label = _evidence.ShortCitation,
                Url = _evidence.DoiUrl,
                Topic = new CdsCoding(KnowledgeLoader.FindingSystem, code, null),
            },
            reasons.Length > 0 ? reasons : null,
            $"{_publicBaseUrl}/app/evidence#{Uri.EscapeDataString(code)}",
            JsonEncodedText.Encode(code).ToString());
    }

    public IReadOnlyList<Card> Render(IEnumerable<Finding> findings, RenderContext context)
    {
        ArgumentNullException.ThrowIfNull(findings);
        ArgumentNullException.ThrowIfNull(context);
        var cards = new List<Card>(findings is ICollection<Finding> c ? c.Count : 4);
        foreach (var f in findings)
        {
            cards.Add(f switch
            {
                LamotrigineFinding l => Lamotrigine(l, context),
                BenzodiazepineFinding b => Benzodiazepine(b, context),
                UnreadableDataFinding u => Unreadable(u, context),
                KetamineCourseFinding k => Course(k, context),
                _ => throw new InvalidOperationException($"No card for finding {f.Code}."),
            });
        }

        return cards;
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

        var d = RentDetail();
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
        d.AppendLine(_lamotrigineStudyHeader).AppendLine();
        d.AppendLine(_lamotrigineStudyResponse);
        AppendRouteEvidence(d, finding.Ketamine);
        d.AppendLine(_limitations);
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
    private void AppendRouteEvidence(StringBuilder d, KetamineForm form)
    {
        if (form is KetamineForm.Esketamine or KetamineForm.Both)
        {
            d.AppendLine(_esketamineEvidence);
        }

        if (form is not KetamineForm.Esketamine)
        {
            d.AppendLine(_ivEvidence);
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
        var d = RentDetail();
        AppendOutcomes(d, finding.Outcomes, context);
        if (finding.Benzodiazepines is { } benzodiazepines)
        {
            d.AppendLine(BenzodiazepineLine(benzodiazepines)).AppendLine();
        }

        d.Append(_courseComparison);
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
            d.AppendLine($"- Response (>= {_responseDefinition}% reduction): at any point {YesNo(q.ResponseAtAnyPoint)}{First(q.FirstResponse)}, " +
                         $"on the latest score {YesNo(q.Response)}. Remission (QIDS-SR <= {_remissionDefinition}): " +
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
        var primaryName = _primaryName;
        var alternateName = _alternateName;
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

        var d = RentDetail();
        d.AppendLine("**This patient's benzodiazepines** (doses from the patient's record; factors from the equivalence tables)").AppendLine();
        d.AppendLine(_benzodiazepineTableHeader);
        d.AppendLine("|---|---|---|---|");
        foreach (var line in a.Counted)
        {
            d.AppendLine($"| {Escape(line.Therapy.DisplayName)} | {DoseCell(line.Dose)} | {Number(line.LorazepamEquivalentMgPerDay)} (/ {Number(line.PrimaryFactor)}) | " +
                         $"{Number(line.LorazepamEquivalentMgPerDayAlternate)} (/ {Number(line.AlternateFactor)}{(line.AlternateFactorFromPrimary ? $", {_primaryNameEscaped} factor: not in this table" : "")}) |");
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
        d.AppendLine(_benzodiazepineProtocol);
        if (a.ThresholdIsSiteSetting)
        {
            d.AppendLine($"- This site set the threshold to {threshold} mg/day lorazepam equivalents.");
        }

        d.AppendLine($"- The tables ({_primaryNameEscaped} primary, {_alternateNameEscaped} alternate) disagree by up to 4x for some drugs, so a total near {threshold} mg/day can fall on either side.");
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
            text.Append($"; {upTo}{Number(a.TotalPrimary)} mg/day lorazepam eq. ({_primaryNameEscaped}), " +
                        $"{Number(a.TotalAlternate)} ({_alternateNameEscaped}); limit {Number(a.ThresholdMgPerDay)}");
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
        var d = RentDetail();
        d.AppendLine($"{finding.UnreadableResources} medication or assessment resource(s) sent for this patient could not be read " +
                     "(malformed, or naming another patient). No lamotrigine or benzodiazepine finding was made from the data that could be read, " +
                     "but an unreadable entry may be one of them: please review the medication list.");
        d.AppendLine().AppendLine("This card informs; the prescriber decides.");
        return NewCard(FindingCodes.PatientDataUnreadable, $"{finding.UnreadableResources} medication/assessment record(s) could not be read; review the medication list", "info", d,
            context, new KetamineCdsExtension { Finding = FindingCodes.PatientDataUnreadable, UnreadableResources = finding.UnreadableResources });
    }

    private Card NewCard(string code, string summary, string indicator, StringBuilder detail, RenderContext context, KetamineCdsExtension extension)
    {
        var parts = PartsOf(code);
        return new Card
        {
            Uuid = NewUuid(),
            Summary = Summary(summary),
            Indicator = indicator,
            Detail = DetailText(detail),
            Source = parts.Source,
            Links = Links(parts, context.HookInstance),
            OverrideReasons = parts.OverrideReasons,
            Extension = new CardExtension(extension),
        };
    }

    [ThreadStatic]
    private static StringBuilder? t_detail;

    /// <summary>
    /// A builder for one card's detail, reused on this thread: a detail is 1-2 KB, and a fresh builder grew through
    /// several chunks and was then copied twice (ToString, TrimEnd) per card. Taken off the thread while in use, so a
    /// card rendered inside another (none today) would get its own.
    /// </summary>
    private static StringBuilder RentDetail()
    {
        var builder = t_detail ?? new StringBuilder(4096);
        t_detail = null;
        return builder.Clear();
    }

    /// <summary>The detail text with trailing white space trimmed (as string.TrimEnd did); the builder goes back to the thread.</summary>
    private static string DetailText(StringBuilder detail)
    {
        var end = detail.Length;
        while (end > 0 && char.IsWhiteSpace(detail[end - 1]))
        {
            end--;
        }

        var text = detail.ToString(0, end);
        if (detail.Capacity <= 16 * 1024)
        {
            t_detail = detail;
        }

        return text;
    }

    /// <summary>
    /// A random (version 4, RFC 9562 section 5.4) card uuid from the cryptographic generator. Guid.NewGuid on Linux
    /// reads the kernel's random source with a system call per uuid; RandomNumberGenerator draws from OpenSSL's
    /// user-space generator. The uuid stays unguessable (feedback names a card by it).
    /// </summary>
    private static string NewUuid()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        // Guid's byte layout: bytes 6-7 are the little-endian third group (version in the high nibble of byte 7);
        // byte 8 starts the fourth group (variant 10xx).
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes).ToString();
    }

    /// <summary>
    /// INTERFACES.md seam 2: the SMART app launch (its appContext names the finding and the hook instance, never patient
    /// data) and the public evidence page, both under KetamineCds:Security:PublicBaseUrl; none when it is not set.
    /// </summary>
    private List<CardLink>? Links(FindingParts parts, string? hookInstance)
    {
        if (_publicBaseUrl is null)
        {
            return null;
        }

        // The appContext JSON as JsonObject.ToJsonString wrote it: {"finding":...,"hookInstance":...}, values escaped by
        // the default encoder (JsonEncodedText uses the same one).
        var appContext = string.IsNullOrEmpty(hookInstance)
            ? $"{{\"finding\":\"{parts.EncodedFinding}\"}}"
            : $"{{\"finding\":\"{parts.EncodedFinding}\",\"hookInstance\":\"{JsonEncodedText.Encode(hookInstance)}\"}}";

        return
        [
            new CardLink { Label = "Open the ketamine course (SMART app)", Url = _launchUrl!, Type = "smart", AppContext = appContext },
            new CardLink { Label = "Evidence: Joseph et al. 2023", Url = parts.EvidenceUrl, Type = "absolute" },
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
        d.AppendLine(_closing);
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
        var oneKind = OneKind(therapy.Entries);
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

    /// <summary>All entries from one kind of source (statement, request, draft order); false for none (as Distinct().Count() == 1 was).</summary>
    private static bool OneKind(IReadOnlyList<RecognizedMedication> entries)
    {
        if (entries.Count == 0)
        {
            return false;
        }

        var first = entries[0].Fact.Source;
        for (var i = 1; i < entries.Count; i++)
        {
            if (entries[i].Fact.Source != first)
            {
                return false;
            }
        }

        return true;
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
