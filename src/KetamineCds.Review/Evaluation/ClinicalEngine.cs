using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Data;
using KetamineCds.Fhir.Facts;
using KetamineCds.Fhir.Knowledge;
using KetamineCds.Fhir.Validation;

namespace KetamineCds.Review.Evaluation;

/// <summary>
/// The hooks' clinical core, built without a web host: the same knowledge artifacts, classifier, dose calculator,
/// evaluator, FHIR edge (PatientDataGatherer, MedicationFactReader, AssessmentExtractor) and validator, constructed as
/// src/KetamineCds.Api/Infrastructure/CoreServices.cs registers them. No second calculator (INTERFACES.md seam 6).
/// </summary>
public sealed class ClinicalEngine
{
    private ClinicalEngine(ClinicalKnowledge knowledge, MedicationClassifier classifier, CdsEvaluator evaluator,
        PatientDataGatherer gatherer, RuleSettings settings, IReadOnlyList<string> assessmentNeedles)
    {
        Knowledge = knowledge;
        Classifier = classifier;
        Evaluator = evaluator;
        Gatherer = gatherer;
        Settings = settings;
        _medicationScreen = ResourceScreen.ForMedications(knowledge);
        _medicationResourceScreen = ResourceScreen.ForMedicationResources(knowledge);
        _assessmentNeedles = assessmentNeedles.Distinct(StringComparer.Ordinal).Select(n => System.Text.Encoding.UTF8.GetBytes(n)).ToArray();
    }

    public ClinicalKnowledge Knowledge { get; }
    public MedicationClassifier Classifier { get; }
    public CdsEvaluator Evaluator { get; }
    public PatientDataGatherer Gatherer { get; }
    public RuleSettings Settings { get; }

    private readonly ResourceScreen _medicationScreen;
    private readonly ResourceScreen _medicationResourceScreen;
    private readonly byte[][] _assessmentNeedles;

    public static async Task<ClinicalEngine> CreateAsync(ReviewOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var artifacts = KnowledgeLoader.ReadArtifacts(options.KnowledgeDirectory);
        var knowledge = KnowledgeLoader.Load(artifacts);
        var classifier = new MedicationClassifier(knowledge);
        var calculator = new DailyDoseCalculator(new SigTextParser(knowledge.Sig));
        var settings = new RuleSettings(options.BenzodiazepineThresholdLorazepamMgPerDay);
        var outcomes = new OutcomeCalculator(AssessmentReader.LoadDefinitions(artifacts));
        var reader = new AssessmentReader(options.AssessmentCodes
            .GroupBy(c => c.Kind)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<(string System, string Code)>)g.Select(c => (c.System, c.Code)).ToList()));
        var validators = new ProfileValidatorHolder();
        if (options.ValidateAssessments)
        {
            var validator = await ProfileValidator.CreateAsync(artifacts, new ProfileValidatorOptions { ExtractDirectory = options.SpecificationExtractDirectory });
            await validator.WarmUpAsync(cancellationToken);
            validators.Set(validator);
        }

        var extractor = new AssessmentExtractor(reader, validators, options.ValidateAssessments);
        var evaluator = new CdsEvaluator(knowledge, classifier, calculator, settings, outcomes);
        var gatherer = new PatientDataGatherer(null, ResourceScreen.ForMedications(knowledge), extractor);
        // An assessment Observation names our CodeSystem or a site-configured code; anything else cannot become a score.
        var assessmentNeedles = new List<string> { "ketamine-cds-assessment" };
        assessmentNeedles.AddRange(options.AssessmentCodes.Select(c => c.Code));
        return new ClinicalEngine(knowledge, classifier, evaluator, gatherer, settings, assessmentNeedles);
    }

    /// <summary>
    /// A MedicationStatement or MedicationRequest whose own medicationCodeableConcept may be ours (the hooks' screen: names
    /// and codes of every code system we map, and entries that name nothing, which are counted as unreadable downstream).
    /// An entry with a medicationReference is judged by its target instead: the review holds every relevant Medication.
    /// </summary>
    public bool MayNameMedication(ReadOnlySpan<byte> json) => _medicationScreen.MayBeRelevant(json);

    /// <summary>A Medication resource (the target of a medicationReference) that may be one of ours.</summary>
    public bool MayBeOurMedication(ReadOnlySpan<byte> json) => _medicationResourceScreen.MayBeRelevant(json);

    /// <summary>An Observation that may be a QIDS-SR/CADSS total; searched in the UTF-8 bytes (most of an export is
    /// Observations, and decoding each to a string would cost more than the whole scan).</summary>
    public bool MayBeAssessment(ReadOnlySpan<byte> json)
    {
        if (json.IndexOf("\\u"u8) >= 0)
        {
            return true;
        }

        foreach (var needle in _assessmentNeedles)
        {
            if (json.IndexOf(needle) >= 0)
            {
                return true;
            }
        }

        return false;
    }
}
