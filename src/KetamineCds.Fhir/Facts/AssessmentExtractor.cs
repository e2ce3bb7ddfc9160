using Hl7.Fhir.Model;
using KetamineCds.Clinical.Rules;
using KetamineCds.Fhir.Validation;

namespace KetamineCds.Fhir.Facts;

/// <summary>Holds the profile validator once start-up has built it (building it is asynchronous and takes seconds).</summary>
public sealed class ProfileValidatorHolder
{
    private ProfileValidator? _validator;

    public ProfileValidator? Current => Volatile.Read(ref _validator);

    public void Set(ProfileValidator validator) => Volatile.Write(ref _validator, validator);
}

/// <summary>
/// Turns the patient's Observations into QIDS-SR/CADSS totals for the rules. With validation on (the default),
/// every assessment Observation is validated against its KetamineCds profile and invalid ones are excluded with the
/// reason, which the cards report.
/// </summary>
public sealed class AssessmentExtractor(AssessmentReader reader, ProfileValidatorHolder validators, bool validate)
{
    public AssessmentData Extract(IEnumerable<Observation> observations)
    {
        ArgumentNullException.ThrowIfNull(observations);
        if (!validate)
        {
            var (scores, excluded) = reader.ReadAll(observations);
            return new AssessmentData(scores, excluded);
        }

        var validator = validators.Current
            ?? throw new InvalidOperationException("Assessment validation is on but the profile validator was not built at start-up.");
        var (valid, invalid) = validator.ReadValidAssessments(reader, observations);
        return new AssessmentData(valid, invalid);
    }
}
