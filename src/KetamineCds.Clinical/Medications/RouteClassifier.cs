using System.Text.RegularExpressions;

namespace KetamineCds.Clinical.Medications;

/// <summary>
/// Sorts a route as the EHR wrote it (display, text or product dose form) into oral or not. The lorazepam
/// equivalence tables are for oral doses only (reference README), so a non-oral benzodiazepine is named on the card
/// but not added to the total. No route at all is read as oral, as outpatient medication lists usually are; a route
/// we do not recognize as oral is not counted (it is named with the reason, never dropped).
/// </summary>
public static partial class RouteClassifier
{
    public static bool IsOral(string? route) =>
        string.IsNullOrWhiteSpace(route) || (OralPattern().IsMatch(route) && !NonOralPattern().IsMatch(route));

    [GeneratedRegex(@"(\b(oral|orally|po|by mouth|mouth|sublingual|buccal|enteral|gastrostomy|per tube|swallow)\b|\bp\.o\.)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 100)]
    private static partial Regex OralPattern();

    [GeneratedRegex(@"(intraven|\biv\b|intramusc|\bim\b|inject|parenteral|subcut|nasal|rectal|\bpr\b|transderm|topical|infusion|inhal)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 100)]
    private static partial Regex NonOralPattern();
}
