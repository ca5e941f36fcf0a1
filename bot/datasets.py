"""Rating an open data set, for any channel: the feedback survey over one person's rating of the
day, through the survey engine. Channels find the set (core.dataset_ratings), then call these."""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.conversation import Conversation
from bot.engine.definition import Problem, QuestionType, SurveyDefinition, SurveyError
from bot.engine.flow import Completed, RawValue, Step
from core.complaints import Scrub
from core.dataset_ratings import (
    PROBLEM_TEXT_METRIC,
    RatingAnswers,
    RatingClosed,
)
from core.integrity.flags import Rules
from core.models import Channel, Complaint, Dataset, DatasetRating, Respondent
from core.unit_of_work import UnitOfWork

DATASET_SURVEY = "dataset_feedback"
# What the data-set cards and pages can show (a ticked list needs the service survey's keyboard).
SHOWN_TYPES = frozenset(QuestionType) - {QuestionType.SELECT_MULTIPLE}


@dataclass(frozen=True)
class Answered:
    """What answering did: the step to show next, and the problem report filed on completion."""

    step: Step
    filed: Complaint | None = None


class DatasetDesk:
    """Opens and answers data-set ratings over the feedback survey's definition; the service
    that commits the unit of work, once per call that writes. `rules`: the anti-gaming rules
    a completed rating is judged by."""

    def __init__(self, definition: SurveyDefinition, scrub: Scrub, rules: Rules) -> None:
        self.definition = definition
        self.scrub = scrub
        self.rules = rules
        self.text_question = next(
            (q.name for q in definition.questions if q.metric == PROBLEM_TEXT_METRIC), None
        )

    @classmethod
    def from_surveys(
        cls, surveys: dict[str, SurveyDefinition], scrub: Scrub, rules: Rules
    ) -> DatasetDesk | None:
        """The desk, or None when the survey folder has no data-set survey (feature off). A
        survey with a question its channels can't show (several choices) is refused."""
        definition = surveys.get(DATASET_SURVEY)
        if definition is None:
            return None
        for question in definition.questions:
            if question.type not in SHOWN_TYPES:
                problem = (
                    f"question '{question.name}': a data-set survey takes single-value "
                    f"questions only, not {question.type.value}"
                )
                raise SurveyError([Problem(definition.source, 1, problem)])
        return cls(definition, scrub, rules)

    def _answers(self, uow: UnitOfWork, respondent: Respondent, channel: Channel) -> RatingAnswers:
        return uow.rating_answers(
            respondent.id,
            self.scrub,
            text_question=self.text_question,
            consent=channel is not Channel.WEB,  # the web page has no chat to write back to
            rules=self.rules,
        )

    async def start(
        self,
        uow: UnitOfWork,
        respondent: Respondent,
        dataset: Dataset,
        channel: Channel,
        language: str,
    ) -> DatasetRating:
        rating = await uow.dataset_ratings.open_rating(
            respondent,
            dataset,
            channel,
            language,
            self.definition.id,
            self.definition.version,
        )
        await uow.commit()
        return rating

    async def conversation(
        self, uow: UnitOfWork, respondent: Respondent, rating: DatasetRating, channel: Channel
    ) -> Conversation | None:
        """The conversation of a rating in progress; None when it is not open to this person."""
        store = self._answers(uow, respondent, channel)
        try:
            conversation = await Conversation.resume(self.definition, store, rating.id)
        except RatingClosed:
            return None
        await uow.commit()  # a completion left behind is finished on resuming
        return conversation

    async def answer(
        self,
        uow: UnitOfWork,
        respondent: Respondent,
        rating: DatasetRating,
        channel: Channel,
        question: str,
        raw: RawValue,
        network: bytes | None = None,
    ) -> Answered | None:
        """Answer `question` of the rating; None when the rating is not open to this person.
        `network`: a keyed hash of the web visitor's network, for the anti-gaming rules."""
        store = self._answers(uow, respondent, channel)
        store.network = network
        try:
            conversation = await Conversation.resume(self.definition, store, rating.id)
            step = await conversation.answer(question, raw)
        except RatingClosed:
            return None
        await uow.commit()  # the answer (and the completion) before the reply
        return Answered(step, store.filed if isinstance(step, Completed) else None)

    def question_name(self, index: int) -> str | None:
        questions = self.definition.questions
        return questions[index].name if 0 <= index < len(questions) else None
