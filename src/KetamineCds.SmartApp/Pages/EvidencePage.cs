using KetamineCds.Clinical.Rules;

namespace KetamineCds.SmartApp.Pages;

/// <summary>
/// The public evidence page (/app/evidence): the study, its figures with n and p, the limitations, the citation and its
/// correction. No sign-in, no patient data. Each finding code is an anchor (INTERFACES.md seam 2), so a card's absolute
/// link lands on the part of the evidence it is about.
/// </summary>
public static class EvidencePage
{
    public static string Render(EvidenceText e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return Layout.Page("Evidence: Joseph et al. 2023", h =>
        {
            h.El("h1", "Ketamine or esketamine with lamotrigine or benzodiazepines: the evidence")
                .Raw("<p class=\"lede\">Every figure on this page is <strong>from the article</strong>, not from any patient. ")
                .Text($"Source: {e.Evidence.ShortCitation}.").Raw("</p>");
            h.Raw("<nav aria-label=\"On this page\"><ul class=\"toc\">")
                .Raw($"<li><a href=\"#{FindingCodes.LamotrigineConcurrent}\">Lamotrigine taken with ketamine/esketamine</a></li>")
                .Raw($"<li><a href=\"#{FindingCodes.KetamineCourse}\">Response, remission and dissociation</a></li>")
                .Raw($"<li><a href=\"#{FindingCodes.BenzodiazepineThreshold}\">Benzodiazepines</a></li>")
                .Raw("<li><a href=\"#limitations\">Limitations</a></li><li><a href=\"#citation\">Citation and correction</a></li></ul></nav>");

            Study(h, e);
            Lamotrigine(h, e);
            Course(h, e);
            Benzodiazepines(h, e);
            Limitations(h, e);
            Citation(h, e);
        });
    }

    private static void Study(Html h, EvidenceText e)
    {
        h.Raw("<section aria-labelledby=\"study\"><h2 id=\"study\">The study</h2>")
            .El("p", $"A historical cohort of {e.Fig("cohort-n")} adults with treatment-resistant depression treated at one clinic " +
                     $"({e.Fig("cohort-iv-ketamine-n")} with IV racemic ketamine, {e.Fig("cohort-in-esketamine-n")} with intranasal esketamine); " +
                     $"{e.Fig("cohort-lamotrigine-n")} were taking lamotrigine and {e.Fig("cohort-no-lamotrigine-n")} were not. " +
                     $"A case series of {e.Fig("case-series-n")} patients who continued lamotrigine followed. " +
                     $"Response is a reduction of the QIDS-SR16 of at least {e.Fig("response-definition-percent-reduction")}% from baseline; " +
                     $"remission a QIDS-SR16 of {e.Fig("remission-definition-max-qids")} or less, at some point during the induction phase.")
            .Raw("</section>");
    }

    /// <summary>The figures table of the cohort, shared with the patient page's evidence column.</summary>
    public static void CohortTable(Html h, EvidenceText e, string caption)
    {
        ArgumentNullException.ThrowIfNull(h);
        ArgumentNullException.ThrowIfNull(e);
        h.Raw("<div class=\"table-wrap\"><table class=\"figures\">").El("caption", caption)
            .Raw("<thead><tr><th scope=\"col\">Outcome (article)</th><th scope=\"col\">With lamotrigine</th><th scope=\"col\">Without lamotrigine</th><th scope=\"col\">p</th></tr></thead><tbody>");
        Row(h, "Response (QIDS-SR16 down at least 50%)", e.Pct("response-lamotrigine-percent"), e.Pct("response-no-lamotrigine-percent"), e.P("response-p"));
        Row(h, "Remission (QIDS-SR16 5 or less)", e.Pct("remission-lamotrigine-percent"), e.Pct("remission-no-lamotrigine-percent"), e.P("remission-p"));
        Row(h, "QIDS-SR16 change after treatment 1, mean", e.Fig("qids-change-treatment1-lamotrigine-percent") + "%", e.Fig("qids-change-treatment1-no-lamotrigine-percent") + "%", e.P("qids-change-treatment1-p"));
        Row(h, "CADSS (dissociation), mean", e.Se("cadss-mean-lamotrigine"), e.Se("cadss-mean-no-lamotrigine"), e.P("cadss-p"));
        Row(h, "IV ketamine only: CADSS, mean of the first five treatments", e.Fig("iv-cadss-mean-first-five-lamotrigine"), e.Fig("iv-cadss-mean-first-five-no-lamotrigine"), e.P("iv-cadss-lamotrigine-effect-p"));
        h.Raw("</tbody></table></div>");
        h.El("p", $"Group sizes: {e.Fig("cohort-lamotrigine-n")} with and {e.Fig("cohort-no-lamotrigine-n")} without lamotrigine (phase 1 cohort). " +
                  $"CADSS with lamotrigine: {e.Source("cadss-mean-lamotrigine")}. Without: {e.Source("cadss-mean-no-lamotrigine")}.", ("class", "note"));
    }

    private static void Row(Html h, string label, string with, string without, string p) =>
        h.Raw("<tr>").El("th", label, ("scope", "row")).El("td", with).El("td", without).El("td", p).Raw("</tr>");

    private static void Lamotrigine(Html h, EvidenceText e)
    {
        h.Raw($"<section aria-labelledby=\"h-{FindingCodes.LamotrigineConcurrent}\" id=\"{FindingCodes.LamotrigineConcurrent}\">")
            .El("h2", "Lamotrigine taken with ketamine/esketamine", ("id", "h-" + FindingCodes.LamotrigineConcurrent))
            .El("p", $"Response and remission did not differ significantly with and without lamotrigine ({e.P("response-p")}, {e.P("remission-p")}); " +
                     $"there was no lamotrigine by treatment-number interaction on QIDS-SR16 change ({e.P("qids-interaction-p")}) and no overall group effect ({e.P("qids-group-effect-p")}).")
            .El("p", $"In the case series of {e.Fig("case-series-n")} patients who continued lamotrigine, {e.Pct("case-series-response-percent")} responded and " +
                     $"{e.Pct("case-series-remission-percent")} remitted; lamotrigine doses ranged from {e.Fig("case-series-lamotrigine-min-mg-per-day")} to " +
                     $"{e.Fig("case-series-lamotrigine-max-mg-per-day")} mg/day. Low-dose (under {e.Knowledge.Thresholds.LamotrigineStandardDoseMinMgPerDay:0.##} mg/day, n = {e.Fig("case-series-low-dose-n")}) " +
                     $"and standard-dose (n = {e.Fig("case-series-standard-dose-n")}) patients did not differ significantly ({e.P("case-series-dose-p")}).")
            .El("p", "In the study, lamotrigine was continued throughout ketamine/esketamine treatment. The authors note that stopping it beforehand is " +
                     "common at some clinics without robust evidence, with a risk of mood destabilization.");
        CohortTable(h, e, "Phase 1 cohort: outcomes with and without lamotrigine (figures from the article)");
        h.Raw("</section>");
    }

    private static void Course(Html h, EvidenceText e)
    {
        h.Raw($"<section aria-labelledby=\"h-{FindingCodes.KetamineCourse}\" id=\"{FindingCodes.KetamineCourse}\">")
            .El("h2", "Response, remission and dissociation", ("id", "h-" + FindingCodes.KetamineCourse))
            .El("p", $"Dissociation (CADSS) was lower with lamotrigine on average ({e.Se("cadss-mean-lamotrigine")} vs {e.Se("cadss-mean-no-lamotrigine")}, {e.P("cadss-p")}); " +
                     "the difference was not significant in the whole cohort.")
            .Raw("<p class=\"route-finding\"><strong>Route matters:</strong> ")
            .Text($"the dissociation signal was found in the analysis restricted to IV racemic ketamine (esketamine patients excluded): lamotrigine had an effect on CADSS there " +
                  $"({e.P("iv-cadss-lamotrigine-effect-p")}; mean over the first five treatments {e.Fig("iv-cadss-mean-first-five-lamotrigine")} vs {e.Fig("iv-cadss-mean-first-five-no-lamotrigine")}) " +
                  $"but not on QIDS-SR16 change ({e.P("iv-qids-lamotrigine-effect-p")}). It was not shown for intranasal esketamine.")
            .Raw("</p></section>");
        h.Raw($"<div id=\"{FindingCodes.PatientDataUnreadable}\" class=\"anchor-note\"><p>")
            .Text("When the app or a card says some of a patient's records could not be read, the evidence above still applies; the patient's own numbers may be incomplete.")
            .Raw("</p></div>");
    }

    private static void Benzodiazepines(Html h, EvidenceText e)
    {
        h.Raw($"<section aria-labelledby=\"h-{FindingCodes.BenzodiazepineThreshold}\" id=\"{FindingCodes.BenzodiazepineThreshold}\">")
            .El("h2", "Benzodiazepines", ("id", "h-" + FindingCodes.BenzodiazepineThreshold))
            .El("p", $"The study required patients to be on less than {e.Fig("benzodiazepine-protocol-max-lorazepam-mg-per-day")} mg/day of lorazepam equivalents before " +
                     $"ketamine/esketamine ({e.Source("benzodiazepine-protocol-max-lorazepam-mg-per-day")}), because earlier work found an attenuated ketamine response with " +
                     $"concomitant high-dose benzodiazepines: {e.Evidence.ProtocolReference}")
            .Raw($"<p id=\"{FindingCodes.BenzodiazepineBorderline}\">")
            .Text($"Lorazepam-equivalence tables disagree, by up to four-fold for some drugs. KetamineCds shows every total under two tables, {e.Knowledge.PrimaryEquivalence.Title} " +
                  $"and {e.Knowledge.AlternateEquivalence.Title}; a total near the limit can fall on either side depending on the table.")
            .Raw("</p>")
            .Raw($"<p id=\"{FindingCodes.BenzodiazepineDoseUnknown}\">")
            .Text("When a benzodiazepine is recognized but its daily dose cannot be determined, it is named and never counted as zero.")
            .Raw("</p>")
            .El("p", "Abrupt benzodiazepine withdrawal carries its own risks; any change to a benzodiazepine is a clinical decision made with the patient.")
            .Raw("</section>");
    }

    private static void Limitations(Html h, EvidenceText e)
    {
        h.Raw("<section aria-labelledby=\"limitations\"><h2 id=\"limitations\">Limitations</h2>")
            .El("p", e.Evidence.Limitations)
            .El("p", $"Patients taking lamotrigine took more psychotropics: {e.Sd("psychotropics-lamotrigine-mean")} vs {e.Sd("psychotropics-no-lamotrigine-mean")} ({e.P("psychotropics-p")}).")
            .El("p", "The authors conclude there is insufficient evidence that continuing lamotrigine attenuates the antidepressant effect; " +
                     "a small observational study that found no significant difference cannot rule one out.")
            .Raw("</section>");
    }

    private static void Citation(Html h, EvidenceText e)
    {
        h.Raw("<section aria-labelledby=\"citation\"><h2 id=\"citation\">Citation and correction</h2>")
            .El("p", e.Evidence.Citation)
            .El("p", e.Evidence.CorrectionCitation)
            .Raw("<p>").El("a", e.Evidence.DoiUrl, ("href", e.Evidence.DoiUrl), ("rel", "noreferrer")).Raw("</p>")
            .Raw("</section>");
    }
}
