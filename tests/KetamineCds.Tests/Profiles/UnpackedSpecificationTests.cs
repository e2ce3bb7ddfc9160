using System.IO.Compression;
using Hl7.Fhir.Model;
using KetamineCds.Fhir;
using KetamineCds.Fhir.Knowledge;
using KetamineCds.Fhir.Validation;

namespace KetamineCds.Tests.Profiles;

/// <summary>
/// The image ships the core specification unpacked at build time (Dockerfile) so start-up extracts nothing and the
/// directory may be read-only. A validator over that directory must give every verdict the zip-backed one gives.
/// </summary>
[Collection(ValidatorCollection.Name)]
public sealed class UnpackedSpecificationTests(ValidatorFixture fixture)
{
    [Fact]
    public async System.Threading.Tasks.Task A_validator_over_the_pre_extracted_specification_gives_the_same_verdicts_as_the_zip()
    {
        var directory = Directory.CreateTempSubdirectory("kcds-spec-");
        try
        {
            await ZipFile.ExtractToDirectoryAsync(Path.Combine(AppContext.BaseDirectory, "specification.zip"), directory.FullName);
            // Both over the whole specification (no prepared definitions), so the files themselves are compared.
            var unpacked = await ProfileValidator.CreateAsync(fixture.Artifacts, new ProfileValidatorOptions { SpecificationDirectory = directory.FullName, UseDefinitionCache = false });
            await unpacked.WarmUpAsync();
            var zip = await fixture.FullSpecificationValidator;

            var examples = fixture.Artifacts.Where(a => a.Key.StartsWith("examples/", StringComparison.Ordinal)).OrderBy(a => a.Key, StringComparer.Ordinal).ToList();
            Assert.True(examples.Count(e => Path.GetFileName(e.Key).StartsWith("invalid-", StringComparison.Ordinal)) >= 10);
            foreach (var (path, json) in examples)
            {
                var resource = FhirJson.ReadStrict<Resource>(json);
                var profile = Assert.Single(resource.Meta?.Profile ?? [])!;
                var fromZip = zip.Validate(resource, profile);
                var fromDirectory = unpacked.Validate(resource, profile);
                Assert.Equal(fromZip.IsValid, fromDirectory.IsValid);
                Assert.Equal(fromZip.Issues, fromDirectory.Issues);
                Assert.Equal(!Path.GetFileName(path).StartsWith("invalid-", StringComparison.Ordinal), fromDirectory.IsValid);
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async System.Threading.Tasks.Task A_specification_directory_without_the_unpacked_files_stops_start_up_with_its_path()
    {
        var empty = Directory.CreateTempSubdirectory("kcds-spec-empty-");
        try
        {
            var error = await Assert.ThrowsAsync<ProfileConfigurationException>(() =>
                ProfileValidator.CreateAsync(KnowledgeLoader.ReadArtifacts(), new ProfileValidatorOptions { SpecificationDirectory = empty.FullName }));
            Assert.Contains(empty.FullName, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            empty.Delete();
        }
    }
}
