using KetamineCds.Clinical.Dosing;

namespace KetamineCds.Clinical.Medications;

/// <summary>
/// Sorts a route as the EHR wrote it (a sig phrase, Dosage.route text, display or SNOMED CT code, a product's route)
/// into oral or not, with the route words of the sig vocabulary (fhir-profiles, property <c>route-class</c>). The
/// lorazepam equivalence tables are for oral doses only (reference README), so a non-oral benzodiazepine is named on
/// the card but not added to the total. No route at all is read as oral, as outpatient medication lists usually are;
/// a route we do not recognize as oral is not counted (it is named with the reason, never dropped).
/// </summary>
public static class RouteClassifier
{
    private static SigVocabulary? _loaded;

    /// <summary>
    /// The vocabulary the one-argument <see cref="IsOral(string?)"/> uses: set when the clinical knowledge is loaded
    /// (KnowledgeLoader), so callers that hold only a route string (BenzodiazepineRule) classify with the same data.
    /// </summary>
    public static void Use(SigVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        Volatile.Write(ref _loaded, vocabulary);
    }

    /// <summary>True when the route is missing (the outpatient assumption of oral) or recognized as oral only.</summary>
    public static bool IsOral(string? route) =>
        IsOral(route, Volatile.Read(ref _loaded)
            ?? throw new InvalidOperationException("The sig vocabulary is not loaded: load the clinical knowledge (KnowledgeLoader.Load) first."));

    /// <summary>As <see cref="IsOral(string?)"/>, with the given vocabulary.</summary>
    public static bool IsOral(string? route, SigVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        return string.IsNullOrWhiteSpace(route) || vocabulary.ClassifyRoute(route).Class == RouteClass.Oral;
    }
}
