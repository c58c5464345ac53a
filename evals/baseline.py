"""The llama-index starter pipeline over the same Chroma collection, embedder and LLM: our baseline."""

from __future__ import annotations

import time
from typing import Any

from index.embed import Embedder
from index.records import PassageTable
from index.snapshot import Snapshot
from rag.llm import Generator
from rag.types import Answer, Hit, Passage


def llama_index_embedding(embedder: Embedder) -> Any:
    """Our embedder as a llama-index BaseEmbedding (so both pipelines share one model)."""
    from llama_index.core.embeddings import BaseEmbedding

    class _Adapter(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return embedder.embed([query])[0].tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return embedder.embed([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed(texts).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return _Adapter(model_name=embedder.name, embed_batch_size=64)


def llama_index_llm(generator: Generator, max_tokens: int) -> Any:
    """Our generator as a llama-index CustomLLM (same model, same decoding)."""
    from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata

    class _Adapter(CustomLLM):
        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(context_window=2048, num_output=max_tokens, model_name=generator.name)

        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
            text = "".join(generator.stream([{"role": "user", "content": prompt}], max_tokens))
            return CompletionResponse(text=text)

        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
            text = ""
            for piece in generator.stream([{"role": "user", "content": prompt}], max_tokens):
                text += piece
                yield CompletionResponse(text=text, delta=piece)

    return _Adapter()


def text_from_records(passages: PassageTable) -> Any:
    """A node postprocessor that puts each retrieved passage's text back: our Chroma collection
    stores vectors and offsets but not the text (the generation's records hold it), so without
    it the starter's LLM would see empty sources."""
    from llama_index.core.postprocessor.types import BaseNodePostprocessor
    from llama_index.core.schema import NodeWithScore, QueryBundle

    class _FillText(BaseNodePostprocessor):
        def _postprocess_nodes(
            self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
        ) -> list[NodeWithScore]:
            for n in nodes:
                passage = passages.get(n.node.node_id)
                if passage is not None:
                    n.node.set_content(passage.text)
            return nodes

    return _FillText()


class StarterBaseline:
    """`VectorStoreIndex.from_vector_store(...).as_query_engine()` as the llama-index starter tutorial does."""

    def __init__(self, snapshot: Snapshot, embedder: Embedder, generator: Generator, max_tokens: int) -> None:
        from llama_index.core import VectorStoreIndex
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.snapshot = snapshot
        store = ChromaVectorStore(chroma_collection=snapshot.store.native())
        index = VectorStoreIndex.from_vector_store(store, embed_model=llama_index_embedding(embedder))
        self.retriever = index.as_retriever()
        self.engine = index.as_query_engine(
            llm=llama_index_llm(generator, max_tokens), node_postprocessors=[text_from_records(snapshot.passages)]
        )

    def search(self, question: str, k: int) -> list[Hit]:
        """The baseline's retrieval alone (its default similarity_top_k unless k is larger)."""
        self.retriever.similarity_top_k = k  # type: ignore[attr-defined]
        return [self._hit(n) for n in self.retriever.retrieve(question)]

    def ask(self, question: str, id: str | None = None) -> Answer:
        """Answer with the starter query engine; it has no citations and never abstains by design."""
        t0 = time.perf_counter()
        response = self.engine.query(question)
        total = (time.perf_counter() - t0) * 1000
        hits = tuple(self._hit(n) for n in response.source_nodes)
        return Answer(
            question,
            str(response).strip(),
            False,
            (),
            hits,
            {"retrieve": 0.0, "generate": total, "total": total},
            mode="baseline",
            id=id,
        )

    def _hit(self, node: Any) -> Hit:
        pid = node.node.node_id
        passage = self.snapshot.passages.get(pid) or Passage(pid, "?", 0, 0, node.node.get_content(), ())
        return Hit(passage, float(node.score or 0.0), ("dense",))
