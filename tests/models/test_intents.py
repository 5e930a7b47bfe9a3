import pickle

import numpy as np
import pytest

from catalogue import cached_catalogue
from models.entities import Alias, EntityExtractor
from models.intents import train_intent_classifier
from settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def classifier():
    return train_intent_classifier(cached_catalogue(PROJECT_ROOT / "data" / "catalogue").examples)


def test_fast_path_matches_scikit_learn(classifier) -> None:
    texts = ["I forgot my pasword", "vpn wont connect from home", "hello there", "zzz qqq", ""]
    batch = classifier.probabilities(texts)
    single = np.array([classifier.probabilities_one(t) for t in texts])
    assert np.allclose(batch, single, atol=1e-9)


def test_a_saved_classifier_keeps_only_its_fitted_parts(classifier) -> None:
    saved = pickle.dumps(classifier)
    assert b"FastTfidf" not in saved  # the fast path is rebuilt on loading
    loaded = pickle.loads(saved)
    text = "my vpn keeps dropping"
    assert np.allclose(loaded.probabilities_one(text), classifier.probabilities_one(text))


def test_confident_on_clear_requests(classifier) -> None:
    prediction = classifier.predict("please reset my password")
    assert prediction.intent == "password_reset" and prediction.confidence > 0.6
    assert len(prediction.alternatives) == 2


def test_training_needs_two_intents() -> None:
    with pytest.raises(ValueError, match="at least two intents"):
        train_intent_classifier({"greeting": ["hi", "hello"]})


def test_entities_exact_and_fuzzy() -> None:
    extractor = EntityExtractor(
        [
            Alias("group", "domain-admins", "domain admins"),
            Alias("application", "salesforce", "salesforce"),
            Alias("device", "laptop", "laptop"),
        ]
    )
    assert [e.id for e in extractor.extract("add me to Domain Admins")] == ["domain-admins"]
    fuzzy = extractor.extract("need salesforse access", {"application"})
    assert [e.id for e in fuzzy] == ["salesforce"] and fuzzy[0].score < 1
    assert extractor.extract("my laptop is broken", {"group"}) == []
    assert extractor.extract("status of INC0001234 please")[0].id == "INC0001234"


def test_confidence_is_calibrated_on_examples_it_did_not_train_on(classifier) -> None:
    """The temperature is fitted out of fold: on a split the model never saw, the mean
    confidence of its predictions is close to how often they are right."""
    examples = cached_catalogue(PROJECT_ROOT / "data" / "catalogue").examples
    rng = np.random.default_rng(7)
    train: dict[str, list[str]] = {}
    held_out: list[tuple[str, str]] = []
    for intent, texts in examples.items():
        for text in texts:
            if rng.random() < 0.2:
                held_out.append((intent, text))
            else:
                train.setdefault(intent, []).append(text)
    model = train_intent_classifier(train)
    probabilities = model.probabilities([text for _, text in held_out])
    predicted = np.array(model.labels)[probabilities.argmax(axis=1)]
    accuracy = np.mean(predicted == np.array([intent for intent, _ in held_out]))
    assert model.temperature != 1.0
    assert abs(probabilities.max(axis=1).mean() - accuracy) < 0.05
