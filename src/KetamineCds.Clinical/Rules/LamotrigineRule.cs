using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;

namespace KetamineCds.Clinical.Rules;

/// <summary>
/// Lamotrigine taken concurrently: an evidence card (Joseph et al. 2023), never a recommendation to stop it.
/// The dose category follows the article: low below the standard-dose minimum (100 mg/day), standard at or above.
/// </summary>
public static class LamotrigineRule
{
    public static LamotrigineFinding? Evaluate(IReadOnlyList<Therapy> therapies, RuleThresholds thresholds)
    {
        ArgumentNullException.ThrowIfNull(therapies);
        ArgumentNullException.ThrowIfNull(thresholds);
        var lamotrigine = therapies.Where(t => t.Ingredient.Class == DrugClass.Lamotrigine).ToList();
        if (lamotrigine.Count == 0)
        {
            return null;
        }

        decimal? total = lamotrigine.All(t => t.Dose.IsKnown) ? lamotrigine.Sum(t => t.Dose.MgPerDay!.Value) : null;
        var category = total switch
        {
            null => LamotrigineDoseCategory.Unknown,
            var mg when mg >= thresholds.LamotrigineStandardDoseMinMgPerDay => LamotrigineDoseCategory.Standard,
            _ => LamotrigineDoseCategory.Low,
        };
        return new LamotrigineFinding(lamotrigine, total, category, thresholds.LamotrigineStandardDoseMinMgPerDay);
    }
}
