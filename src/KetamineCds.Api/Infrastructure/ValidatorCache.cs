using System.Collections.Concurrent;
using KetamineCds.Fhir.Knowledge;
using KetamineCds.Fhir.Validation;

namespace KetamineCds.Api.Infrastructure;

/// <summary>
/// The profile validator is immutable and thread-safe once built, and building it costs seconds and ~55 MB (from the
/// prepared definitions; ~115 MB over the full specification: docs/performance.md): one per process and knowledge
/// source, shared by every host in the process (the test hosts too).
/// </summary>
public static class ValidatorCache
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<ProfileValidator>>> Validators = new(StringComparer.Ordinal);

    public static Task<ProfileValidator> GetAsync(string? knowledgeDirectory, string? extractDirectory, int resultCacheSize, string? specificationDirectory = null) =>
        Validators.GetOrAdd($"{knowledgeDirectory}|{extractDirectory}|{specificationDirectory}|{resultCacheSize}", _ => new Lazy<Task<ProfileValidator>>(async () =>
        {
            var validator = await ProfileValidator.CreateAsync(
                KnowledgeLoader.ReadArtifacts(knowledgeDirectory),
                new ProfileValidatorOptions { ExtractDirectory = extractDirectory, SpecificationDirectory = specificationDirectory, ResultCacheSize = resultCacheSize });
            await validator.WarmUpAsync();
            return validator;
        })).Value;
}
