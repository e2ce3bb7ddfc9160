using KetamineCds.Clinical.Knowledge;

namespace KetamineCds.SmartApp.Pages;

/// <summary>
/// The article's figures as the pages print them, always from <see cref="EvidenceFigures"/> (fhir-profiles/knowledge/
/// Parameters-joseph-2023-figures.json), never typed here: a percentage with its n/N, a mean with its SE or SD, a p-value
/// with its comparator.
/// </summary>
public sealed class EvidenceText(ClinicalKnowledge knowledge)
{
    public EvidenceFigures Evidence { get; } = knowledge?.Evidence ?? throw new ArgumentNullException(nameof(knowledge));

    public ClinicalKnowledge Knowledge { get; } = knowledge;

    public string Fig(string key) => Html.Number(Evidence[key].Value);

    /// <summary>"62.5% (5/8)".</summary>
    public string Pct(string key)
    {
        var f = Evidence[key];
        return f.Numerator is { } n && f.Denominator is { } d ? $"{Html.Number(f.Value)}% ({n}/{d})" : $"{Html.Number(f.Value)}%";
    }

    /// <summary>"p = 0.79" (or "p > 0.81" when the article gives a bound).</summary>
    public string P(string key)
    {
        var f = Evidence[key];
        return $"p {(string.IsNullOrEmpty(f.Comparator) ? "=" : f.Comparator)} {Html.Number(f.Value)}";
    }

    /// <summary>"3.55 (SE 2.65)".</summary>
    public string Se(string key)
    {
        var f = Evidence[key];
        return f.StandardError is { } se ? $"{Html.Number(f.Value)} (SE {Html.Number(se)})" : Html.Number(f.Value);
    }

    /// <summary>"4.8 (SD 1)".</summary>
    public string Sd(string key)
    {
        var f = Evidence[key];
        return f.StandardDeviation is { } sd ? $"{Html.Number(f.Value)} (SD {Html.Number(sd)})" : Html.Number(f.Value);
    }

    public string Source(string key) => Evidence[key].Source;
}
