using KetamineCds.Api.Cards;
using KetamineCds.Api.CdsHooks;
using KetamineCds.Clinical.Dosing;
using KetamineCds.Clinical.Knowledge;
using KetamineCds.Clinical.Medications;
using KetamineCds.Clinical.Outcomes;
using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Data;
using KetamineCds.Fhir.Facts;
using KetamineCds.Fhir.Knowledge;
using Microsoft.Extensions.Options;

namespace KetamineCds.Api.Infrastructure;

/// <summary>The hook pipeline and everything it needs, registered once for the host and the benchmarks.</summary>
public static class CoreServices
{
    public static IServiceCollection AddKetamineCdsCore(this IServiceCollection services)
    {
        services.AddOptions<CdsOptions>().BindConfiguration(CdsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(TimeProvider.System);

        // Clinical knowledge: loaded once at start-up from fhir-profiles; a broken artifact stops the service from starting.
        // The fhir-profiles artifacts are read once; the knowledge and the outcome definitions both come from them.
        services.AddSingleton(sp => new KnowledgeArtifacts(KnowledgeLoader.ReadArtifacts(Options(sp).KnowledgeDirectory)));
        services.AddSingleton(sp => KnowledgeLoader.Load(sp.GetRequiredService<KnowledgeArtifacts>().Files));
        services.AddSingleton<MedicationClassifier>();
        services.AddSingleton(sp => sp.GetRequiredService<ClinicalKnowledge>().Sig);
        services.AddSingleton<ISigTextParser, SigTextParser>();
        services.AddSingleton<DailyDoseCalculator>();
        services.AddSingleton(sp => new RuleSettings(Options(sp).BenzodiazepineThresholdLorazepamMgPerDay));
        services.AddSingleton(sp => AssessmentReader.LoadDefinitions(sp.GetRequiredService<KnowledgeArtifacts>().Files));
        services.AddSingleton<OutcomeCalculator>();
        services.AddSingleton(sp => new AssessmentReader(Options(sp).AssessmentCodes
            .GroupBy(c => c.Kind)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<(string System, string Code)>)g.Select(c => (c.System, c.Code)).ToList())));
        services.AddSingleton<ProfileValidatorHolder>();
        services.AddSingleton(sp => new AssessmentExtractor(sp.GetRequiredService<AssessmentReader>(), sp.GetRequiredService<ProfileValidatorHolder>(), Options(sp).ValidateAssessments));
        services.AddSingleton<CdsEvaluator>();
        services.AddSingleton<CardRenderer>();
        services.AddSingleton(sp => ResourceScreen.ForMedications(sp.GetRequiredService<ClinicalKnowledge>()));
        services.AddSingleton(sp => new PatientDataGatherer(sp.GetService<IFhirFallback>(), sp.GetRequiredService<ResourceScreen>(),
            sp.GetRequiredService<AssessmentExtractor>(), sp.GetRequiredService<MedicationClassifier>(),
            AssessmentScreen.For(sp.GetRequiredService<AssessmentReader>()), keepMedicationReads: true));
        services.AddSingleton<HookPipeline>();
        services.AddSingleton<JsonRequestReader>();
        services.AddScoped<HookHandler>();
        services.AddScoped<FeedbackHandler>();
        return services;
    }

    /// <summary>The fhir-profiles files (path under fhir-profiles to JSON), read once at start-up.</summary>
    private sealed record KnowledgeArtifacts(IReadOnlyDictionary<string, string> Files);

    private static CdsOptions Options(IServiceProvider services) => services.GetRequiredService<IOptions<CdsOptions>>().Value;
}
